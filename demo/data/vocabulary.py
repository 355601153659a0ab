# ruff: noqa: RUF001  (Turkish and Greek letters that look Latin are the point of this data)
"""Word lists the seeded data set is drawn from: names from many languages and scripts, places with
accents, title and synopsis fragments. Data only; ``demo.seed`` combines them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NameCulture:
    """How people are named in one language: given and family names, as written and in Latin letters.

    Each name is ``(native, latin)``; ``latin`` is ``None`` when the native spelling already uses
    Latin letters. ``family_first`` cultures write the family name first (joined by ``separator``);
    ``latin_family_first``: the Latin spelling keeps that order (Gong Li does, Akira Kurosawa does not).
    """

    country: str
    given: tuple[tuple[str, str | None], ...]
    family: tuple[tuple[str, str | None], ...]
    family_first: bool = False
    separator: str = " "
    latin_family_first: bool = False


def _latin(*names: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((name, None) for name in names)


CULTURES: tuple[NameCulture, ...] = (
    NameCulture(
        "United States",
        _latin("James", "Mary", "Ryan", "Emma", "Michael", "Olivia", "Daniel", "Grace", "Samuel", "Hazel"),
        _latin("Walker", "Bennett", "Hayes", "Foster", "Sullivan", "Brooks", "Reed", "Carter", "Price", "Quinn"),
    ),
    NameCulture(
        "France",
        _latin("Amélie", "Léon", "Hélène", "François", "Chloé", "Benoît", "Anaïs", "Jérôme", "Noémie", "Loïc"),
        _latin("Lefèvre", "Dubois", "Mercier", "Rousseau", "Girard", "Béranger", "Fournier", "Leclerc", "Morel"),
    ),
    NameCulture(
        "Spain",
        _latin("José", "María", "Íñigo", "Lucía", "Álvaro", "Begoña", "Nuño", "Sofía", "Raúl", "Inés"),
        _latin("García", "Martínez", "Núñez", "Ibáñez", "Gómez", "Peña", "Muñoz", "Sáenz", "Castaño"),
    ),
    NameCulture(
        "Germany",
        _latin("Jürgen", "Jörg", "Käthe", "Uwe", "Lena", "Maximilian", "Sören", "Bärbel", "Götz", "Anja"),
        _latin("Müller", "Schröder", "Weiß", "Köhler", "Groß", "Bäcker", "Schäfer", "Wagner", "Krüger"),
    ),
    NameCulture(
        "Poland",
        _latin("Łukasz", "Małgorzata", "Wojciech", "Agnieszka", "Paweł", "Zuzanna", "Bartłomiej", "Jolanta"),
        _latin("Wiśniewski", "Kowalczyk", "Zieliński", "Woźniak", "Dąbrowski", "Szymański", "Kłos"),
    ),
    NameCulture(
        "Iceland",
        _latin("Björk", "Guðrún", "Þórir", "Sigríður", "Jóhann", "Ásta", "Baltasar", "Hildur"),
        _latin("Guðmundsdóttir", "Sigurðsson", "Jónsdóttir", "Þorsteinsson", "Kormákur", "Gunnarsson"),
    ),
    NameCulture(
        "Turkey",
        _latin("Çağla", "Şükrü", "Gökhan", "Ayşe", "Barış", "Özge", "İlker", "Gülşen"),
        _latin("Öztürk", "Yılmaz", "Şahin", "Çelik", "Aydın", "Doğan", "Kılıç"),
    ),
    NameCulture(
        "Japan",
        (("明", "Akira"), ("花子", "Hanako"), ("健", "Ken"), ("由紀", "Yuki"), ("翔太", "Shota"), ("美咲", "Misaki")),
        (("黒澤", "Kurosawa"), ("山田", "Yamada"), ("佐藤", "Sato"), ("渡辺", "Watanabe"), ("小林", "Kobayashi")),
        family_first=True,
    ),
    NameCulture(
        "Russia",
        (("Владимир", "Vladimir"), ("Анна", "Anna"), ("Сергей", "Sergei"), ("Ольга", "Olga"), ("Дмитрий", "Dmitri")),
        (("Высоцкий", "Vysotsky"), ("Смирнов", "Smirnov"), ("Кузнецов", "Kuznetsov"), ("Попов", "Popov")),
    ),
    NameCulture(
        "China",
        (("俐", "Li"), ("艺谋", "Yimou"), ("子怡", "Ziyi"), ("伟", "Wei"), ("静", "Jing"), ("磊", "Lei")),
        (("巩", "Gong"), ("张", "Zhang"), ("王", "Wang"), ("陈", "Chen"), ("刘", "Liu"), ("周", "Zhou")),
        family_first=True,
        separator="",
        latin_family_first=True,
    ),
    NameCulture(
        "South Korea",
        (("지은", "Ji-eun"), ("민준", "Min-jun"), ("서연", "Seo-yeon"), ("준호", "Joon-ho"), ("하늘", "Ha-neul")),
        (("김", "Kim"), ("이", "Lee"), ("박", "Park"), ("봉", "Bong"), ("최", "Choi")),
        family_first=True,
        separator="",
        latin_family_first=True,
    ),
    NameCulture(
        "Greece",
        (("Γιώργος", "Giorgos"), ("Ελένη", "Eleni"), ("Νίκος", "Nikos"), ("Μαρία", "Maria")),
        (("Παπαδόπουλος", "Papadopoulos"), ("Λάνθιμος", "Lanthimos"), ("Αγγελόπουλος", "Angelopoulos")),
    ),
    NameCulture(
        "India",
        (("प्रिया", "Priya"), ("अर्जुन", "Arjun"), ("दीपिका", "Deepika"), ("राहुल", "Rahul")),
        (("शर्मा", "Sharma"), ("कपूर", "Kapoor"), ("पटेल", "Patel"), ("खान", "Khan")),
    ),
    NameCulture(
        "Brazil",
        _latin("João", "Conceição", "Sebastião", "Luíza", "Antônio", "Fábio", "Lúcia", "Thiago"),
        _latin("Gonçalves", "Araújo", "Magalhães", "Simões", "Guimarães", "Brandão", "Assunção"),
    ),
)

AGENCIES: tuple[str, ...] = (
    "Creative Artists Agency",
    "William Morris Endeavor",
    "United Talent Agency",
    "Agence Artmédia",
    "Zürcher Schauspielagentur",
    "Agencia Peña & Asociados",
    "アミューズ",
    "Curtis Brown",
    "Independent Talent",
)

LOCATIONS: tuple[tuple[str, str], ...] = (
    ("São Paulo", "Brazil"),
    ("Rio de Janeiro", "Brazil"),
    ("Zürich", "Switzerland"),
    ("Kraków", "Poland"),
    ("Łódź", "Poland"),
    ("Reykjavík", "Iceland"),
    ("Montréal", "Canada"),
    ("Vancouver", "Canada"),
    ("Québec", "Canada"),
    ("Córdoba", "Argentina"),
    ("Málaga", "Spain"),
    ("Düsseldorf", "Germany"),
    ("Malmö", "Sweden"),
    ("Nîmes", "France"),
    ("Paris", "France"),
    ("Ciudad de México", "Mexico"),
    ("İstanbul", "Türkiye"),
    ("Kyōto", "Japan"),
    ("東京", "Japan"),
    ("Seoul", "South Korea"),
    ("Mumbai", "India"),
    ("Marrakech", "Morocco"),
    ("Wellington", "New Zealand"),
    ("Atlanta", "United States"),
    ("Los Angeles", "United States"),
    ("New York", "United States"),
    ("Budapest", "Hungary"),
    ("Praha", "Czechia"),
    ("Αθήνα", "Greece"),
    ("Dubrovnik", "Croatia"),
)

VENDOR_NAMES: tuple[str, ...] = (
    "Lumière Post",
    "Brückner Kameraverleih",
    "Estúdios Vera Cruz",
    "Northlight VFX",
    "Saltwater Sound",
    "Catering Ñam Ñam",
    "Fjörður Grip & Electric",
    "Pixel Forge",
    "Atelier Costumes Bérénice",
    "Red Kite Locations",
    "Studio Ghibli Ink",
    "Tōhō Lighting",
)

VENDOR_SERVICES: tuple[str, ...] = (
    "Visual effects",
    "Sound mixing",
    "Catering",
    "Camera rental",
    "Costumes",
    "Location scouting",
    "Color grading",
    "Grip and electric",
)

TITLE_ADJECTIVES: tuple[str, ...] = (
    "Silent",
    "Last",
    "Broken",
    "Golden",
    "Hidden",
    "Crimson",
    "Endless",
    "Forgotten",
    "Midnight",
    "Electric",
    "Wandering",
    "Frozen",
    "Burning",
    "Quiet",
    "Impossible",
)

TITLE_NOUNS: tuple[str, ...] = (
    "Harbor",
    "Summer",
    "Kingdom",
    "Signal",
    "Orchard",
    "Lighthouse",
    "Empire",
    "Garden",
    "Horizon",
    "Witness",
    "Cartographer",
    "Symphony",
    "Frontier",
    "Mirror",
    "Station",
    "River",
    "Detective",
    "Dancer",
)

TITLE_PLACES: tuple[str, ...] = (
    "São Paulo",
    "Zürich",
    "the North",
    "Reykjavík",
    "Kraków",
    "the Deep",
    "Montréal",
    "Kyōto",
    "the Old Town",
    "Málaga",
)

FOREIGN_TITLES: tuple[str, ...] = (
    "La Cité des enfants perdus",
    "Le Goût des autres",
    "Das Boot der Träume",
    "El laberinto del fauno",
    "Mañana será otro día",
    "千と千尋の神隠し",
    "七人の侍",
    "기생충",
    "Солярис",
    "Сталкер",
    "Z mroku do świtu",
    "Hrútar",
    "Sólo con tu pareja",
    "Cidade de Deus",
    "Ο Θίασος",
)

SYNOPSIS_OPENINGS: tuple[str, ...] = (
    "A retired {role} returns to {place} for one last job.",
    "In {place}, a young {role} uncovers a secret that could change everything.",
    "Two estranged siblings cross {place} to fulfil their mother's final wish.",
    "When a storm cuts {place} off from the world, a {role} must keep the peace.",
    "A {role} and a stranger fall in love during one long night in {place}.",
    "An ambitious {role} builds an empire in {place}, whatever the cost.",
)

SYNOPSIS_ROLES: tuple[str, ...] = (
    "detective",
    "cartographer",
    "pianist",
    "smuggler",
    "schoolteacher",
    "astronaut",
    "chef",
    "lighthouse keeper",
    "journalist",
    "thief",
)

SYNOPSIS_ENDINGS: tuple[str, ...] = (
    "Nothing is what it seems.",
    "Based on a true story.",
    "The past is never far behind.",
    "Some promises are meant to be broken.",
    "Every map leads somewhere unexpected.",
    "Winner of the festival's jury prize.",
)

CHARACTER_NAMES: tuple[str, ...] = (
    "Inspector Ségolène Marchand",
    "Captain Ōshima",
    "Dr. Ingrid Þórsdóttir",
    "Marco",
    "The Stranger",
    "Lucía",
    "Old Man Jenkins",
    "Tomasz",
    "Yuki",
    "Nadia",
    "Agent Keller",
    "Himself",
    "Grandmother",
    "Zoë",
    "The Narrator",
)
