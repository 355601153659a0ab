"""The one seam between graphdex and its search server (Elasticsearch 8 or OpenSearch 2).

``SearchStore`` holds exactly the operations graphdex makes; ``open_search_store`` opens the adapter
an ``elasticsearch`` section describes; ``InMemorySearchStore`` (``indexer.search_store.memory``) is a
faithful stand-in for unit tests. No other module imports a search client library or catches its
exceptions: failures arrive as ``schema_gen.errors.StoreError`` subclasses.
"""

from indexer.search_store.connection import connection_problems, open_search_store
from indexer.search_store.model import (
    BulkAction,
    BulkItemResult,
    EngineInfo,
    IndexDescription,
    SearchStore,
    StoredDocument,
    bulk_chunks,
)

__all__ = [
    "BulkAction",
    "BulkItemResult",
    "EngineInfo",
    "IndexDescription",
    "SearchStore",
    "StoredDocument",
    "bulk_chunks",
    "connection_problems",
    "open_search_store",
]
