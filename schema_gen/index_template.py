"""The composable index template of an index, derived from the ``DocumentModel``.

The body works for ``PUT _index_template/<index>`` on Elasticsearch 8 and OpenSearch 2 alike: it
matches ``<index>-*`` (the concrete index versions; the alias ``<index>`` is the provisioner's job,
so the template carries no aliases), maps every field with ``dynamic: strict`` and ships a small
analysis chain:

    folding               standard tokenizer + lowercase + asciifolding (full text, the default)
    autocomplete          folding + edge n-grams (``analysis.autocomplete_min_gram``/``max_gram``)
    autocomplete_search   folding, used at query time for the autocomplete sub-field
    lowercase_folding     a normalizer (lowercase + asciifolding) for case-insensitive exact match

The normalizer is not called ``lowercase``: Elasticsearch and OpenSearch have a built-in normalizer
of that name, which some servers prefer over a custom one of the same name.

``FieldIndexing`` (from ``plan_fields``) is the decision for one field: the catalogue describes the
same decisions, so the search library's paths always exist in the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schema_gen.avro import METADATA_FIELD, check_metadata_name, scalar_mapping
from schema_gen.config import IndexConfig, SearchFeature
from schema_gen.errors import ConfigError, Problem
from schema_gen.model import DocumentModel, FieldKind, FieldNode, ScalarKind

FOLDING_ANALYZER = "folding"
AUTOCOMPLETE_ANALYZER = "autocomplete"
AUTOCOMPLETE_SEARCH_ANALYZER = "autocomplete_search"
LOWERCASE_NORMALIZER = "lowercase_folding"
KEYWORD_SUBFIELD = "keyword"
LOWERCASE_SUBFIELD = "lowercase"
AUTOCOMPLETE_SUBFIELD = "autocomplete"
IGNORE_ABOVE = 8191
"""Longest keyword indexed, in characters: 8191 UTF-8 characters always fit Lucene's 32766-byte term
limit, so a long value is left out of the keyword index instead of failing the whole document."""
TEMPLATE_PRIORITY = 200
"""Above the built-in templates of Elasticsearch (100), so ``<index>-*`` never ties with them."""

SHIPPED_ANALYZERS = frozenset({FOLDING_ANALYZER, AUTOCOMPLETE_ANALYZER, AUTOCOMPLETE_SEARCH_ANALYZER})
BUILTIN_ANALYZERS = frozenset(
    {"standard", "simple", "whitespace", "stop", "keyword", "pattern", "fingerprint"}
    | {"arabic", "armenian", "basque", "bengali", "brazilian", "bulgarian", "catalan", "cjk", "czech"}
    | {"danish", "dutch", "english", "estonian", "finnish", "french", "galician", "german", "greek"}
    | {"hindi", "hungarian", "indonesian", "irish", "italian", "latvian", "lithuanian", "norwegian"}
    | {"persian", "portuguese", "romanian", "russian", "sorani", "spanish", "swedish", "turkish", "thai"}
)
"""Analyzers both Elasticsearch 8 and OpenSearch 2 ship; anything else fails at index creation."""

_TEXT_CAPABLE = frozenset({"text", "keyword"})
_BUILTIN_INDEX = {
    ScalarKind.STRING: "text",
    ScalarKind.ID: "keyword",
    ScalarKind.INT: "integer",
    ScalarKind.FLOAT: "double",
    ScalarKind.BOOLEAN: "boolean",
}


@dataclass(frozen=True)
class FieldIndexing:
    """How one field is indexed: its mapping and the paths to query it by."""

    index_type: str
    """``text``, ``keyword``, ``long``, ``integer``, ``double``, ``boolean``, ``date``, ``object``,
    ``nested`` or ``disabled`` (kept in ``_source`` only)."""
    analyzer: str | None = None
    autocomplete: bool = False
    lowercase: bool = False
    filterable: bool = False
    sortable: bool = False
    facetable: bool = False
    boost: float = 1.0

    @property
    def fulltext(self) -> bool:
        return self.index_type == "text"

    @property
    def exact(self) -> bool:
        return self.filterable or self.sortable or self.facetable

    def exact_path(self, path: str) -> str | None:
        """Field for term/terms/range, sort and aggregations, or None."""
        if not self.exact:
            return None
        return f"{path}.{KEYWORD_SUBFIELD}" if self.fulltext else path

    def lowercase_path(self, path: str) -> str | None:
        return f"{path}.{LOWERCASE_SUBFIELD}" if self.lowercase else None

    def autocomplete_path(self, path: str) -> str | None:
        return f"{path}.{AUTOCOMPLETE_SUBFIELD}" if self.autocomplete else None

    def mapping(self) -> dict[str, Any]:
        """The mapping of a scalar field (objects are mapped by ``index_template``)."""
        if self.index_type == "disabled":
            return {"type": "keyword", "index": False, "doc_values": False}
        subfields: dict[str, Any] = {}
        mapping: dict[str, Any] = {"type": self.index_type}
        if self.fulltext:
            mapping["analyzer"] = self.analyzer
            if self.exact:
                subfields[KEYWORD_SUBFIELD] = {"type": "keyword", "ignore_above": IGNORE_ABOVE}
                if not (self.sortable or self.facetable):
                    subfields[KEYWORD_SUBFIELD]["doc_values"] = False
        else:
            if self.index_type == "keyword":
                mapping["ignore_above"] = IGNORE_ABOVE
            if not self.filterable:
                mapping["index"] = False
            if not (self.sortable or self.facetable):
                mapping["doc_values"] = False
        if self.lowercase:
            subfields[LOWERCASE_SUBFIELD] = {
                "type": "keyword",
                "normalizer": LOWERCASE_NORMALIZER,
                "ignore_above": IGNORE_ABOVE,
            }
        if self.autocomplete:
            subfields[AUTOCOMPLETE_SUBFIELD] = {
                "type": "text",
                "analyzer": AUTOCOMPLETE_ANALYZER,
                "search_analyzer": AUTOCOMPLETE_SEARCH_ANALYZER,
            }
        if subfields:
            mapping["fields"] = subfields
        return mapping


def _check_analyzer(name: str, where: str, problems: list[Problem]) -> None:
    if name not in SHIPPED_ANALYZERS | BUILTIN_ANALYZERS:
        problems.append(
            Problem(where, f"unknown analyzer {name!r} (use folding, standard or a language analyzer such as english)")
        )


def _plan_object(node: FieldNode, where: str, problems: list[Problem]) -> FieldIndexing:
    options = node.options
    for key in ("search", "analyzer", "filterable", "sortable", "facetable"):
        if key in options.model_fields_set:
            problems.append(Problem(f"{where}.{key}", f"does not apply to an object field ({node.type_name})"))
    if options.index_type not in (None, "object"):
        problems.append(Problem(f"{where}.index_type", "an object field is indexed as object or nested"))
    if options.index_type == "object" or options.nested is False:
        return FieldIndexing("object")
    return FieldIndexing("nested" if node.is_list or options.nested else "object")


def _base_index_type(node: FieldNode, config: IndexConfig) -> tuple[str, bool]:
    """Index type from the GraphQL type, and whether the values are strings (lowercase sub-field)."""
    if node.kind in (FieldKind.ENUM, FieldKind.TYPENAME):
        return "keyword", False
    if node.scalar is ScalarKind.CUSTOM:
        index = scalar_mapping(node.type_name, config).index
        return index, index in _TEXT_CAPABLE
    scalar = node.scalar or ScalarKind.STRING
    return _BUILTIN_INDEX[scalar], scalar is ScalarKind.STRING


def plan_field(node: FieldNode, config: IndexConfig, problems: list[Problem]) -> FieldIndexing:
    """The indexing decision for one field; contradictory options are appended to ``problems``."""
    where = f"fields.{node.path}"
    options = node.options
    if node.kind is FieldKind.OBJECT:
        return _plan_object(node, where, problems)
    if options.nested is not None:
        problems.append(Problem(f"{where}.nested", "applies only to object fields"))
    if options.index_type == "object":
        problems.append(Problem(f"{where}.index_type", f"a {node.type_name} field cannot be indexed as object"))
    index_type, string_valued = _base_index_type(node, config)
    if options.index_type not in (None, "object"):
        index_type = options.index_type
    features = set(options.search) if options.search is not None else set()
    if options.search is None and index_type == "text":
        features = {SearchFeature.FULLTEXT}
    if SearchFeature.FULLTEXT in features and options.index_type == "keyword":
        problems.append(Problem(f"{where}.search", "fulltext contradicts index_type keyword"))
    elif SearchFeature.FULLTEXT in features and index_type in _TEXT_CAPABLE:
        index_type = "text"
    elif index_type == "text" and options.index_type != "text":
        index_type = "keyword"
    elif features and index_type not in _TEXT_CAPABLE:
        problems.append(Problem(f"{where}.search", f"a field indexed as {index_type} cannot be searched as text"))
        features = set()
    if index_type == "disabled":
        return FieldIndexing("disabled")
    analyzer = options.analyzer or config.analysis.fulltext
    if options.analyzer is not None:
        if index_type != "text":
            problems.append(Problem(f"{where}.analyzer", "applies only to full-text fields"))
        _check_analyzer(options.analyzer, f"{where}.analyzer", problems)
    exact = (options.filterable, options.sortable, options.facetable)
    filterable, sortable, facetable = (True if flag is None else flag for flag in exact)
    return FieldIndexing(
        index_type=index_type,
        analyzer=analyzer if index_type == "text" else None,
        autocomplete=SearchFeature.AUTOCOMPLETE in features,
        lowercase=string_valued and index_type in _TEXT_CAPABLE and filterable,
        filterable=filterable,
        sortable=sortable,
        facetable=facetable,
        boost=options.boost,
    )


def plan_fields(model: DocumentModel, config: IndexConfig) -> dict[str, FieldIndexing]:
    """The indexing decision for every field by path; raises ``ConfigError`` listing every contradiction."""
    problems: list[Problem] = []
    _check_analyzer(config.analysis.fulltext, "analysis.fulltext", problems)
    plan = {node.path: plan_field(node, config, problems) for node in model.fields()}
    if problems:
        raise ConfigError("the field options do not fit the query", problems)
    return plan


def _properties(node: FieldNode, plan: dict[str, FieldIndexing]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for child in node.children:
        indexing = plan[child.path]
        if child.kind is FieldKind.OBJECT:
            properties[child.key] = {"type": indexing.index_type, "properties": _properties(child, plan)}
        else:
            properties[child.key] = indexing.mapping()
    return properties


def analysis_settings(config: IndexConfig) -> dict[str, Any]:
    """The shipped analyzers and normalizer, with the configured n-gram sizes."""
    folding_filters = ["lowercase", "asciifolding"]
    return {
        "filter": {
            "autocomplete_edge_ngram": {
                "type": "edge_ngram",
                "min_gram": config.analysis.autocomplete_min_gram,
                "max_gram": config.analysis.autocomplete_max_gram,
            }
        },
        "analyzer": {
            FOLDING_ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": folding_filters},
            AUTOCOMPLETE_ANALYZER: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": [*folding_filters, "autocomplete_edge_ngram"],
            },
            AUTOCOMPLETE_SEARCH_ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": folding_filters},
        },
        "normalizer": {LOWERCASE_NORMALIZER: {"type": "custom", "filter": folding_filters}},
    }


def metadata_mapping() -> dict[str, Any]:
    """Mapping of the ``graphdex`` metadata record every document carries (see ``schema_gen.avro``)."""
    return {
        "type": "object",
        "properties": {
            "fetched_at": {"type": "date"},
            # Read back by the sink (to skip rewriting unchanged documents), never searched.
            "content_hash": {"type": "keyword", "index": False, "doc_values": False},
        },
    }


def index_template(model: DocumentModel, config: IndexConfig) -> dict[str, Any]:
    """The composable index template body for ``PUT _index_template/<index>``."""
    check_metadata_name(model)
    plan = plan_fields(model, config)
    properties = _properties(model.root, plan)
    properties[METADATA_FIELD] = metadata_mapping()
    return {
        "index_patterns": [f"{model.index}-*"],
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": {
                "number_of_shards": config.settings.shards,
                "number_of_replicas": config.settings.replicas,
                "refresh_interval": config.settings.refresh_interval,
                "gc_deletes": config.settings.gc_deletes,
                "analysis": analysis_settings(config),
            },
            "mappings": {
                "dynamic": "strict",
                "_meta": {"generated_by": "graphdex", "index": model.index, "root_type": model.root_type},
                "properties": properties,
            },
        },
        "_meta": {"generated_by": "graphdex", "index": model.index},
    }
