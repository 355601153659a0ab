"""Classifying mapping and settings differences between the live version and the definition."""

from __future__ import annotations

import copy

from indexer.provision.diff import (
    ChangeKind,
    VersionShape,
    classify,
    flatten_settings,
    mapping_differences,
    settings_differences,
)

MAPPINGS = {
    "dynamic": "strict",
    "_meta": {"generated_by": "graphdex"},
    "properties": {
        "movieId": {"type": "keyword", "ignore_above": 8191},
        "title": {
            "type": "text",
            "analyzer": "folding",
            "fields": {"keyword": {"type": "keyword", "ignore_above": 8191}},
        },
        "production": {"type": "object", "properties": {"name": {"type": "text", "analyzer": "folding"}}},
        "credits": {"type": "nested", "properties": {"role": {"type": "keyword"}}},
    },
}
SETTINGS = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "refresh_interval": "1s",
    "analysis": {
        "analyzer": {"folding": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}
    },
}
SERVER_SETTINGS = {
    "index.number_of_shards": "1",
    "index.number_of_replicas": "0",
    "index.refresh_interval": "1s",
    "index.creation_date": "1700000000000",
    "index.uuid": "abc",
    "index.analysis.analyzer.folding.type": "custom",
    "index.analysis.analyzer.folding.tokenizer": "standard",
    "index.analysis.analyzer.folding.filter": ["lowercase", "asciifolding"],
}


def as_server_returns(mappings):
    """The mapping without the implicit ``type: object``, as servers return it."""
    returned = copy.deepcopy(mappings)
    del returned["properties"]["production"]["type"]
    return returned


def shape(mappings=MAPPINGS, settings=SETTINGS, artifacts="a", avro="v"):
    return VersionShape(mappings, settings, artifacts, avro)


def test_a_mapping_returned_by_the_server_equals_the_generated_one():
    """The implicit object type a server leaves out is no difference."""
    assert mapping_differences(as_server_returns(MAPPINGS), MAPPINGS) == []


def test_a_new_field_is_an_in_place_addition_that_needs_refetching():
    """A field only the definition has is added in place and every document is fetched again."""
    desired = copy.deepcopy(MAPPINGS)
    desired["properties"]["production"]["properties"]["budget"] = {"type": "long", "index": False}
    (difference,) = mapping_differences(as_server_returns(MAPPINGS), desired)
    assert (difference.path, difference.change, difference.in_place, difference.refetch) == (
        "production.budget",
        "added",
        True,
        True,
    )
    assert difference.detail == "new long field"


def test_a_new_sub_field_is_an_addition():
    """A new multi-field under an existing field (an autocomplete sub-field) is added in place."""
    desired = copy.deepcopy(MAPPINGS)
    desired["properties"]["title"]["fields"]["autocomplete"] = {"type": "text", "analyzer": "autocomplete"}
    (difference,) = mapping_differences(MAPPINGS, desired)
    assert (difference.path, difference.change, difference.in_place) == ("title.autocomplete", "added", True)


def test_a_changed_analyzer_needs_a_new_version():
    """A changed field parameter names the parameter, its old and new value, and is not in place."""
    desired = copy.deepcopy(MAPPINGS)
    desired["properties"]["title"]["analyzer"] = "english"
    (difference,) = mapping_differences(MAPPINGS, desired)
    assert str(difference) == "title: changed (analyzer: folding -> english)"
    assert not difference.in_place


def test_a_retyped_field_is_one_difference_not_one_per_child():
    """An object turned nested is reported once, at the object."""
    desired = copy.deepcopy(MAPPINGS)
    desired["properties"]["production"]["type"] = "nested"
    desired["properties"]["production"]["properties"]["city"] = {"type": "keyword"}
    differences = mapping_differences(as_server_returns(MAPPINGS), desired)
    assert [str(difference) for difference in differences] == ["production: changed (type: object -> nested)"]


def test_a_removed_field_needs_a_new_version():
    """A field only the live version has cannot be taken out of an index."""
    desired = copy.deepcopy(MAPPINGS)
    del desired["properties"]["credits"]["properties"]["role"]
    (difference,) = mapping_differences(MAPPINGS, desired)
    assert (difference.path, difference.change, difference.in_place) == ("credits.role", "removed", False)


def test_root_mapping_parameters_are_compared_but_meta_is_not():
    """``dynamic`` is compared; ``_meta`` (provisioning state) is not a mapping difference."""
    desired = copy.deepcopy(MAPPINGS) | {"dynamic": "false", "_meta": {"other": 1}}
    assert [str(difference) for difference in mapping_differences(MAPPINGS, desired)] == [
        "mappings.dynamic: changed (strict -> false)"
    ]


def test_flat_and_nested_settings_flatten_alike():
    """Nested settings with numbers and flat server settings with text give the same keys and values."""
    flat = flatten_settings(SERVER_SETTINGS)
    for key, value in flatten_settings(SETTINGS).items():
        assert flat[key] == value


def test_settings_returned_by_the_server_equal_the_generated_ones():
    """Server-only settings (uuid, creation date) are ignored."""
    assert settings_differences(SERVER_SETTINGS, SETTINGS) == []


def test_replicas_and_refresh_interval_change_in_place():
    """Dynamic settings are in-place changes; the shard count is not."""
    desired = SETTINGS | {"number_of_replicas": 2, "number_of_shards": 3, "gc_deletes": "1h"}
    differences = {difference.path: difference for difference in settings_differences(SERVER_SETTINGS, desired)}
    assert differences["settings.number_of_replicas"].in_place
    assert differences["settings.number_of_replicas"].detail == "0 -> 2"
    assert differences["settings.gc_deletes"].in_place  # how long deleted versions are remembered
    assert not differences["settings.number_of_shards"].in_place


def test_analysis_changes_are_named_by_component():
    """A changed analyzer and a new filter are each one difference, naming the keys that differ."""
    desired = copy.deepcopy(SETTINGS)
    desired["analysis"]["analyzer"]["folding"]["filter"] = ["lowercase"]
    desired["analysis"]["filter"] = {"edge": {"type": "edge_ngram", "min_gram": 2}}
    differences = [str(difference) for difference in settings_differences(SERVER_SETTINGS, desired)]
    assert differences == [
        "settings.analysis.analyzer.folding: changed (filter)",
        "settings.analysis.filter.edge: added (min_gram, type)",
    ]


def test_no_live_version_means_create():
    """Without a live version the change is the first version."""
    change = classify(None, shape())
    assert change.kind is ChangeKind.CREATE
    assert change.refetch


def test_identical_shapes_mean_no_change():
    """The same mappings, settings and hashes: nothing to do."""
    assert classify(shape(as_server_returns(MAPPINGS), SERVER_SETTINGS), shape()).kind is ChangeKind.NONE


def test_one_incompatible_difference_makes_a_new_version():
    """An addition and an analyzer change together need a new version; the reasons are the forcing ones."""
    desired = copy.deepcopy(MAPPINGS)
    desired["properties"]["title"]["analyzer"] = "english"
    desired["properties"]["runtime"] = {"type": "integer"}
    change = classify(shape(), shape(desired, artifacts="b"))
    assert change.kind is ChangeKind.NEW_VERSION
    assert [difference.path for difference in change.reasons] == ["title"]
    assert [difference.path for difference in change.differences] == ["title", "runtime"]


def test_additions_only_are_in_place_with_refetch():
    """Only new fields: in place, and the documents are fetched again."""
    desired = copy.deepcopy(MAPPINGS)
    desired["properties"]["runtime"] = {"type": "integer"}
    change = classify(shape(), shape(desired, artifacts="b", avro="w"))
    assert change.kind is ChangeKind.IN_PLACE
    assert change.refetch


def test_a_new_avro_schema_alone_refetches_in_place():
    """Documents render differently (a new Avro schema) while the mapping stays: in place, refetched."""
    change = classify(shape(), shape(artifacts="b", avro="w"))
    assert change.kind is ChangeKind.IN_PLACE
    assert [str(difference) for difference in change.differences] == [
        "avro: changed (the document schema changed; every document is fetched again)"
    ]
    assert change.refetch


def test_template_metadata_alone_changes_in_place_without_refetching():
    """Another artifacts hash with the same mapping, settings and Avro schema: recorded, nothing fetched."""
    change = classify(shape(), shape(artifacts="b"))
    assert change.kind is ChangeKind.IN_PLACE
    assert not change.refetch


def test_dynamic_settings_alone_change_in_place_without_refetching():
    """More replicas: in place, no document fetched again."""
    change = classify(shape(), shape(settings=SETTINGS | {"number_of_replicas": 1}, artifacts="b"))
    assert change.kind is ChangeKind.IN_PLACE
    assert not change.refetch
