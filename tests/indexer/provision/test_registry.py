"""The document schema's registry subject: first registration, no change, compatible and incompatible versions.

Each test runs against confluent-kafka's in-memory ``mock://`` registry and, marked ``integration``,
against the local stack's real registry (Apicurio Registry's Confluent-compatible API).
"""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from indexer.provision.registry import backward_incompatibilities, delete_subject, plan_subject, register

SUBJECT = "graphdex.movies.documents-value"
V1 = {"type": "record", "name": "Movie", "fields": [{"name": "title", "type": "string"}]}
V2 = {
    "type": "record",
    "name": "Movie",
    "fields": [{"name": "title", "type": "string"}, {"name": "runtime", "type": ["null", "int"], "default": None}],
}
RETYPED = {"type": "record", "name": "Movie", "fields": [{"name": "title", "type": "long"}]}


def text(schema):
    return json.dumps(schema, sort_keys=True)


@pytest.fixture(params=["mock", pytest.param("apicurio", marks=pytest.mark.integration)])
def registry(request):
    """A registry without ``SUBJECT``; the real one is shared by the run, so the subject is removed after."""
    if request.param == "mock":
        yield SchemaRegistryClient.new_client({"url": f"mock://{request.node.originalname}"})
        return
    client = SchemaRegistryClient({"url": request.getfixturevalue("schema_registry_url")})
    delete_subject(client, SUBJECT)
    yield client
    delete_subject(client, SUBJECT)


def test_an_unknown_subject_is_registered_first(registry):
    """A subject the registry does not have is planned as a first registration."""
    plan = plan_subject(registry, SUBJECT, text(V1))
    assert (plan.action, plan.latest_version, plan.compatible) == ("register", None, True)


def test_a_registered_schema_needs_nothing(registry):
    """Once registered, the same schema text plans no change."""
    register(registry, SUBJECT, text(V1))
    plan = plan_subject(registry, SUBJECT, text(V1))
    assert (plan.action, plan.latest_version) == ("none", 1)
    assert str(plan) == f"{SUBJECT}: the document schema is registered (version 1)"


def test_a_new_optional_field_is_a_compatible_new_version(registry):
    """A new field with a default can read the old data: compatible."""
    register(registry, SUBJECT, text(V1))
    plan = plan_subject(registry, SUBJECT, text(V2))
    assert (plan.action, plan.latest_version, plan.compatible) == ("register", 1, True)
    assert str(plan) == f"register a new version of {SUBJECT} (backward compatible with version 1)"


def test_a_retyped_field_is_incompatible_with_the_reason(registry):
    """A string field read as long cannot read the old data; the reason names the field's location."""
    register(registry, SUBJECT, text(V1))
    plan = plan_subject(registry, SUBJECT, text(RETYPED))
    assert not plan.compatible
    assert plan.incompatibilities == ("reader type: long not compatible with writer type: string (at /fields/0/type)",)


def test_a_new_required_field_is_incompatible():
    """A field without a default cannot be filled from old data."""
    required = {"type": "record", "name": "Movie", "fields": [*V1["fields"], {"name": "year", "type": "int"}]}
    assert backward_incompatibilities(text(required), text(V1))


def test_deleting_a_subject_says_whether_there_was_one(registry):
    """Deleting removes every version; deleting again finds nothing."""
    register(registry, SUBJECT, text(V1))
    assert delete_subject(registry, SUBJECT)
    assert plan_subject(registry, SUBJECT, text(V1)).action == "register"
    assert not delete_subject(registry, SUBJECT)


def test_a_deleted_subject_is_registered_again_from_its_first_version(registry):
    """After a deletion (``graphdex destroy``) the same schema registers again and is the subject's
    latest version: a later apply and the daemon's start-up check find it."""
    register(registry, SUBJECT, text(V1))
    assert delete_subject(registry, SUBJECT)
    register(registry, SUBJECT, text(V1))
    plan = plan_subject(registry, SUBJECT, text(V1))
    assert (plan.action, plan.latest_version) == ("none", 1)
