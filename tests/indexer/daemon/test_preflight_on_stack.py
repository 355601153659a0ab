"""The start-up check against what a real ``apply`` leaves on the local stack (Apache Kafka, OpenSearch) and a registry
shared with the provisioner (a ``mock://`` registry lives in one process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.stack import LocalStack
from indexer.daemon.pipeline import IndexPipeline
from indexer.daemon.preflight import ProvisionCheck, ProvisionVerdict, reverse_lookup_paths
from indexer.daemon.process import Stage
from indexer.definition import IndexDefinition
from indexer.kafka.clients import build_admin
from indexer.metrics import PipelineMetrics
from indexer.provision.desired import DesiredIndex
from indexer.provision.search_cluster import SearchCluster
from indexer.provision.targets import ProvisionTargets
from indexer.search_store import open_search_store
from schema_gen.config import ElasticsearchSettings
from tests.indexer.provision.stack_provisioning import QUERY, QUERY_WITHOUT_RUNTIME, StackIndex

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_index(tmp_path: Path, unique_name: str, local_stack: LocalStack):
    store = open_search_store(ElasticsearchSettings(url=local_stack.endpoints.search_url))
    yield StackIndex(tmp_path, unique_name, local_stack, store)
    store.close()


def check(stack_index: StackIndex, definition: IndexDefinition) -> ProvisionCheck:
    """The check of ``definition`` on the stack, reading the provisioner's registry."""
    targets = ProvisionTargets(
        SearchCluster(stack_index.store), build_admin(definition.config.kafka), stack_index.registry
    )
    return ProvisionCheck(
        DesiredIndex.from_definition(definition),
        targets,
        lookup_paths=reverse_lookup_paths(IndexPipeline(definition, PipelineMetrics()).catalogue),
        source=str(definition.path),
    )


def test_after_apply_nothing_is_found_and_a_field_added_since_is_drift(stack_index: StackIndex):
    """Right after a real apply the check finds nothing at all (no noise from how the server returns
    mappings and settings); once the query gains ``runtime``, the live version lacks it and the registry
    subject does not hold the new schema."""
    applied = stack_index.definition(QUERY_WITHOUT_RUNTIME)
    stack_index.provisioner(applied).apply()
    assert check(stack_index, applied).verdict(tuple(Stage)) == ProvisionVerdict(stack_index.name, str(applied.path))

    changed = stack_index.definition(QUERY)
    found = check(stack_index, changed).verdict(tuple(Stage))
    assert [str(problem) for problem in found.drift] == [
        f"schema registry subject {stack_index.name}.graphdex.{stack_index.name}.documents-value: does not hold "
        "the definition's document schema (latest version 1; the definition's is backward compatible with it)",
        f"{stack_index.name}-1: runtime: missing from the index (new integer field)",
    ]
    assert not found.missing
