"""Choosing the engine against the real OpenSearch node of the local stack: ``auto`` finds OpenSearch,
``opensearch`` works, and ``elasticsearch`` (whose client refuses servers that do not say
``X-Elastic-Product: Elasticsearch``) fails with a message that names the setting to change."""

from __future__ import annotations

import pytest

from indexer.search_store import open_search_store
from schema_gen.config import ElasticsearchSettings, SearchEngine
from schema_gen.errors import StoreRejected

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("engine", [SearchEngine.AUTO, SearchEngine.OPENSEARCH])
def test_auto_and_opensearch_talk_to_the_opensearch_node(search_server, engine, unique_name):
    """Both settings reach the node: ``info`` says OpenSearch 2.19 and an index round trip works."""
    store = open_search_store(ElasticsearchSettings(url=search_server, engine=engine))
    try:
        info = store.info()
        assert info.engine == "opensearch"
        assert info.version.startswith("2.19.")
        store.create_index(unique_name, settings={"number_of_replicas": 0}, mappings={}, aliases={})
        assert store.count(unique_name, None) == 0
        store.delete_index(unique_name)
    finally:
        store.close()


def test_the_elasticsearch_engine_on_an_opensearch_node_names_the_setting(search_server, unique_name):
    """OpenSearch refuses the ``elasticsearch`` client's media type (HTTP 406), and the client refuses any
    success without ``X-Elastic-Product``: either way one actionable error names the setting."""
    store = open_search_store(ElasticsearchSettings(url=search_server, engine=SearchEngine.ELASTICSEARCH))
    right = open_search_store(ElasticsearchSettings(url=search_server, engine=SearchEngine.OPENSEARCH))
    try:
        assert store.info().engine == "opensearch"  # GET / is still read, to say what the server is
        with pytest.raises(StoreRejected, match=r"is not Elasticsearch.*set elasticsearch\.engine to opensearch"):
            store.create_index(unique_name, settings={"number_of_replicas": 0}, mappings={}, aliases={})
        assert right.get_indices(unique_name) == {}  # refused before anything was created
    finally:
        right.close()
        store.close()
