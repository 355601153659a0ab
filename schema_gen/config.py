"""The index definition: a validated, immutable model of one YAML file.

``parse_config`` is pure: it takes the parsed YAML mapping, the file name for messages and the
environment used for ``${VAR}`` substitution, and either returns an ``IndexConfig`` or raises a
``ConfigError`` listing every problem at once, each with the file and the dotted key path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schema_gen.errors import ConfigError, Problem

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


class _Section(BaseModel):
    """Base of every config section: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def empty_to_none(value: Any) -> Any:
    """An empty string (``${VAR:-}`` with VAR unset) means the key is not given."""
    return None if value == "" else value


def parse_duration(value: Any) -> float:
    """``"250ms"``, ``"5s"``, ``"2m"``, ``"1h"`` or a number of seconds, as seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 500ms, 5s or 2m")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration such as 500ms, 5s or 2m, got {value!r}")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


Duration = Annotated[float, Field(ge=0)]


class SearchFeature(StrEnum):
    """How a text field is searchable."""

    FULLTEXT = "fulltext"
    AUTOCOMPLETE = "autocomplete"


class FieldOptions(_Section):
    """Per-field index options, keyed by the field's response path (``talent.name``)."""

    exclude: bool = False
    """Leave the field (and everything under it) out of the index and the Avro document."""
    search: tuple[SearchFeature, ...] | None = None
    """Text features; default: ``[fulltext]`` for String fields, none for ID and enums."""
    boost: float = Field(default=1.0, gt=0)
    """Weight of this field in full-text queries."""
    nested: bool | None = None
    """Index a list of objects as ``nested`` (default) so filters match within one element."""
    analyzer: str | None = None
    """Analyzer for full text, overriding ``analysis.fulltext``."""
    index_type: Literal["keyword", "text", "long", "integer", "double", "boolean", "date", "object"] | None = None
    """Override the index type derived from the GraphQL type."""
    filterable: bool | None = None
    sortable: bool | None = None
    facetable: bool | None = None


class ScalarMapping(_Section):
    """How a custom scalar is written to Avro and indexed."""

    avro: Literal["string", "long", "int", "double", "boolean", "timestamp-millis", "date"] = "string"
    index: Literal["keyword", "text", "long", "integer", "double", "boolean", "date", "disabled"] = "keyword"


class Analysis(_Section):
    """Analyzer choices for the generated index template."""

    fulltext: str = "folding"
    """Analyzer for full-text fields: ``folding`` (accent- and case-folding, the default), ``standard``,
    or a language analyzer built into the search server such as ``english``."""
    autocomplete_min_gram: int = Field(default=2, ge=1)
    autocomplete_max_gram: int = Field(default=15, ge=1)

    @model_validator(mode="after")
    def _grams_ordered(self) -> Analysis:
        if self.autocomplete_min_gram > self.autocomplete_max_gram:
            raise ValueError("autocomplete_min_gram must not exceed autocomplete_max_gram")
        return self


class IndexSettings(_Section):
    """Settings of each concrete index version."""

    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=1, ge=0)
    refresh_interval: str = "1s"
    gc_deletes: str = "1h"
    """How long the search server remembers a deleted document's version (``index.gc_deletes``, 60s
    by default): an older write of that document arriving within it is refused as stale; after it,
    it would bring the document back. Longer than any write can be late (retries, a paused stage)."""


class GraphSettings(_Section):
    """Where the GraphQL schema comes from and how the gateway is reached."""

    schema_file: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = 30.0
    verify_tls: bool = True

    _parse_timeout = field_validator("timeout", mode="before")(parse_duration)
    _empty = field_validator("schema_file", "url", mode="before")(empty_to_none)

    @model_validator(mode="after")
    def _one_source(self) -> GraphSettings:
        if not self.schema_file and not self.url:
            raise ValueError("give schema_file (SDL or introspection JSON) or url (a gateway to introspect)")
        return self


class RootSettings(_Section):
    """The entity each document is about and how its id reaches the query."""

    type: str
    id_field: str = "id"
    id_variable: str = "id"


class SearchEngine(StrEnum):
    """Which search server the ``elasticsearch`` section points at."""

    AUTO = "auto"
    """Ask the server once (``GET /``): OpenSearch says so in ``version.distribution``."""
    ELASTICSEARCH = "elasticsearch"
    OPENSEARCH = "opensearch"


class ElasticsearchSettings(_Section):
    """Connection to the search cluster: Elasticsearch 8 or OpenSearch 2."""

    url: str = "http://127.0.0.1:9200"
    engine: SearchEngine = SearchEngine.AUTO
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: Duration = 30.0

    _parse_timeout = field_validator("timeout", mode="before")(parse_duration)

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "plain_json" in data:
            raise ValueError(
                "plain_json was removed: graphdex talks to OpenSearch with its own client now; "
                "delete the key (set engine: opensearch to skip asking the server which engine it is)"
            )
        return data


class EventSource(_Section):
    """One topic of change events about one GraphQL type (several topics may feed one type)."""

    topic: str
    type: str
    """The GraphQL type the events concern: the root type, or a related type embedded in documents."""
    format: Literal["debezium", "json", "avro"] = "debezium"
    """``debezium``: JSON envelope (with or without the schema wrapper); ``json``: a plain application
    event; ``avro``: Confluent wire format, decoded with ``kafka.schema_registry_url``."""
    id: tuple[str, ...] = ()
    """Where the entity's key is: dotted paths into the row (Debezium: ``after``, or ``before`` for a
    delete) or into the value (json/avro); ``key.<field>`` reads the message key. Several paths for a
    composite key, in the order of the type's key fields. Default: the type's key fields in the row."""
    max_bytes: int = Field(default=1_048_576, gt=0)
    """Larger events are dead-lettered as oversized."""


class KafkaSettings(_Section):
    """Kafka connection, the internal topics' names and their layout."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_ca_location: str | None = None
    schema_registry_url: str | None = None
    """Confluent Schema Registry (``mock://name`` in tests); without one, documents use Avro
    single-object encoding."""
    topic_prefix: str = "graphdex"
    """Internal topics are ``<prefix>.<index>.requests|retry|documents|dlq``."""
    group_prefix: str = "graphdex"
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    extra: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Further librdkafka settings passed through unchanged."""
    session_timeout: Duration = 45.0
    """How long a silent stage process keeps its partitions; a few seconds on the local stack."""
    max_poll_interval: Duration = 300.0
    """Longest one batch may take before the group considers the process stuck."""
    fetch_wait_max: Duration = Field(default=0.5, gt=0, le=30)
    """Longest a consumer's fetch request waits at the broker for data (``fetch.wait.max.ms``, Kafka's
    default). Kafka answers as soon as data arrives, so this bounds idle polling, not latency."""

    _durations = field_validator("session_timeout", "max_poll_interval", "fetch_wait_max", mode="before")(
        parse_duration
    )
    _empty = field_validator("schema_registry_url", "sasl_mechanism", "ssl_ca_location", mode="before")(empty_to_none)

    @model_validator(mode="after")
    def _timings_ordered(self) -> KafkaSettings:
        if self.session_timeout < 2:
            raise ValueError("session_timeout must be at least 2s")
        if self.max_poll_interval < self.session_timeout:
            raise ValueError("max_poll_interval must be at least session_timeout")
        return self


class FetchSettings(_Section):
    """How documents are fetched from the gateway."""

    batch_size: int = Field(default=50, ge=1, le=1000)
    max_in_flight: int = Field(default=4, ge=1)
    rate_limit: float | None = Field(default=None, gt=0)
    """Gateway requests per second shared by every fetch of this process; none by default."""
    coalesce_window: Duration = 0.05
    """After the first request of a batch, how long more may join it (and duplicates merge). Under load
    batches fill while the previous one is fetched, so a short window costs no batching."""
    timeout: Duration = 10.0
    attempts: int = Field(default=3, ge=1)
    """Immediate attempts per request (backoff with jitter) before the retry topic takes over."""
    retry_topic_attempts: int = Field(default=5, ge=0)
    """Passes through the retry topic before a request is dead-lettered."""
    retry_delay: Duration = 5.0
    """First not-before delay on the retry topic; doubled on each pass."""
    breaker_threshold: int = Field(default=5, ge=1)
    """Consecutive gateway-wide failures that open the circuit breaker (fetching pauses)."""
    breaker_cooldown: Duration = 2.0

    _durations = field_validator("coalesce_window", "timeout", "retry_delay", "breaker_cooldown", mode="before")(
        parse_duration
    )


class SinkSettings(_Section):
    """How documents are written to the index."""

    max_actions: int = Field(default=500, ge=1)
    max_bytes: int = Field(default=5_000_000, ge=1)
    max_wait: Duration = 0.1
    """After the first document of a bulk request, how long more may join it; under load bulks fill
    while the previous one is written."""
    refresh: bool = False
    """Refresh after each bulk request (tests and demos only)."""
    skip_unchanged: bool = True
    """Leave a document the index already holds with the same content alone, when the root entity's
    own change event caused the fetch (see ``indexer.sink.bulk_sink``)."""

    _durations = field_validator("max_wait", mode="before")(parse_duration)


class ReverseLookupSettings(_Section):
    """How changes of related entities fan out to the root documents that embed them."""

    page_size: int = Field(default=1000, ge=1, le=10_000)
    terms_batch: int = Field(default=500, ge=1)
    fanout_delay: Duration = 1.0
    """Changes of one entity within this delay share one fan-out."""
    popular_threshold: int = Field(default=1000, ge=1)
    """A fan-out this large marks the entity popular ..."""
    popular_delay: Duration = 60.0
    """... and its next fan-out waits this long, absorbing every change in between."""
    settle_delay: Duration = 10.0
    """A second lookup this long after a fan-out catches roots whose fetch was in flight (HSEARCH-4064);
    it only re-fetches documents fetched before the change."""

    _durations = field_validator("fanout_delay", "popular_delay", "settle_delay", mode="before")(parse_duration)


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|m|h))?\s*$")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_rate(value: Any) -> float:
    """``"50/s"``, ``"600/m"``, ``"3600/h"`` or a number, as requests per second (positive)."""
    if isinstance(value, bool):
        raise ValueError("expected a rate such as 50/s or 600/m")
    if isinstance(value, int | float):
        rate = float(value)
    else:
        match = _RATE.match(str(value))
        if not match:
            raise ValueError(f"expected a rate such as 50/s or 600/m, got {value!r}")
        rate = float(match.group(1)) / {"s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2) or "s"]
    if rate <= 0:
        raise ValueError("a rate is a positive number of requests per second")
    return rate


def parse_time_window(value: Any) -> tuple[int, int]:
    """``"22:00-06:00"`` as (start, end) minutes after midnight; the window may cross midnight."""
    match = _WINDOW.match(str(value))
    if not match:
        raise ValueError(f"expected a time window such as 22:00-06:00, got {value!r}")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    if start_hour > 23 or end_hour > 24 or start_minute > 59 or end_minute > 59 or (end_hour == 24 and end_minute):
        raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
    start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
    if start == end % 1440:
        raise ValueError(f"{value!r} is empty; leave windows out to allow every hour")
    return start, end


def _checked_window(value: str) -> str:
    parse_time_window(value)
    return value


def _optional_duration(value: Any) -> float | None:
    return None if value is None else parse_duration(value)


TimeWindow = Annotated[str, AfterValidator(_checked_window)]


class EnumerationSettings(_Section):
    """The query that lists every root id, page by page (cursor pagination), for backfills."""

    query: str
    """A GraphQL query taking the page size and the cursor as variables."""
    ids_path: str
    """Dotted response path of the page's ids (``movieIds.ids``)."""
    cursor_path: str
    """Dotted response path of the cursor of the page's end (``movieIds.endCursor``)."""
    has_next_path: str | None = None
    """Dotted response path of the has-next-page flag; without it, an empty page ends the enumeration."""
    cursor_variable: str = "after"
    page_size_variable: str = "first"
    page_size: int = Field(default=1000, ge=1, le=100_000)


class BackfillSettings(_Section):
    """How backfills enumerate root ids and how hard they may load the gateway (CLI options override)."""

    enumeration: EnumerationSettings | None = None
    rate: float = 20.0
    """Gateway requests per second (``50/s``, ``600/m``): the hard limit, or the starting rate when adaptive."""
    concurrency: int = Field(default=2, ge=1, le=256)
    """Gateway requests in flight at most."""
    target_latency: Duration | None = None
    """Adaptive mode: the gateway's p95 latency to stay under (``300ms``)."""
    max_error_rate: float = Field(default=0.02, ge=0, le=1)
    """Adaptive mode: the share of failed gateway requests to stay under."""
    min_rate: float = 1.0
    """Adaptive mode: the floor of the rate."""
    max_rate: float = 200.0
    """Adaptive mode: the ceiling of the rate."""
    windows: tuple[TimeWindow, ...] = ()
    """Times of day (local time) a backfill may run, such as ``22:00-06:00``; empty: always."""

    _rates = field_validator("rate", "min_rate", "max_rate", mode="before")(parse_rate)
    _latency = field_validator("target_latency", mode="before")(_optional_duration)

    @model_validator(mode="after")
    def _rates_ordered(self) -> BackfillSettings:
        if self.min_rate > self.max_rate:
            raise ValueError("min_rate must not exceed max_rate")
        return self


class IndexConfig(_Section):
    """One index definition: a YAML file plus the query it points at."""

    index: str
    graph: GraphSettings
    query_file: str | None = None
    query: str | None = None
    root: RootSettings
    fields: dict[str, FieldOptions] = Field(default_factory=dict)
    scalars: dict[str, ScalarMapping] = Field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Identity fields per GraphQL type (``Talent: [talentId]``) where the schema does not say
    (no ``@key`` directive and no ``id: ID!`` field); used for reverse lookups."""
    analysis: Analysis = Field(default_factory=Analysis)
    settings: IndexSettings = Field(default_factory=IndexSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    events: tuple[EventSource, ...] = ()
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    sink: SinkSettings = Field(default_factory=SinkSettings)
    reverse_lookup: ReverseLookupSettings = Field(default_factory=ReverseLookupSettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)

    @field_validator("index")
    @classmethod
    def _index_name(cls, value: str) -> str:
        if not _INDEX_NAME.match(value):
            raise ValueError("an index name is lowercase letters, digits, '-' and '_', starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _one_query(self) -> IndexConfig:
        if bool(self.query_file) == bool(self.query):
            raise ValueError("give exactly one of query_file (a path) or query (the query inline)")
        return self

    def options_for(self, path: str) -> FieldOptions:
        """Options configured for a response path, or the defaults."""
        return self.fields.get(path, _DEFAULT_OPTIONS)


_DEFAULT_OPTIONS = FieldOptions()


def substitute_env(value: Any, env: Mapping[str, str], missing: list[str]) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string of a YAML tree."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            missing.append(name)
            return ""

        return _ENV_REFERENCE.sub(replace, value)
    if isinstance(value, dict):
        return {key: substitute_env(item, env, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_env(item, env, missing) for item in value]
    return value


def _dotted(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(str(part))
    return "".join(parts) or "(top level)"


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def parse_config(data: Any, source: str, env: Mapping[str, str]) -> IndexConfig:
    """Validate a parsed YAML document; raise ``ConfigError`` listing every problem with its key path."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: an index definition is a YAML mapping with keys index, graph, root, ...")
    missing: list[str] = []
    data = substitute_env(data, env, missing)
    problems = [
        Problem(source, f"environment variable {name} is not set (use ${{{name}:-default}} for a fallback)")
        for name in dict.fromkeys(missing)
    ]
    try:
        config = IndexConfig.model_validate(data)
    except ValidationError as exc:
        problems += [Problem(f"{source}: {_dotted(err['loc'])}", _describe(err)) for err in exc.errors()]
        raise ConfigError("invalid index definition", problems) from None
    if problems:
        raise ConfigError("invalid index definition", problems)
    return config
