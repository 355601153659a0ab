"""The ``_bulk`` body a ``BulkAction`` sends: values JSON has no type for are encoded as the client
libraries' serializers encode them (documents decoded from Avro carry datetimes)."""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from indexer.search_store import BulkAction


def test_datetimes_dates_uuids_and_decimals_are_encoded_as_the_client_libraries_do():
    source = {
        "fetchedAt": datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC),
        "day": date(2024, 5, 1),
        "ref": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "budget": Decimal("1.5"),
    }
    header, body = BulkAction("index", "movies-1", "m-1", source, 7).ndjson.splitlines()
    expected_header = {"_index": "movies-1", "_id": "m-1", "version": 7, "version_type": "external"}
    assert json.loads(header) == {"index": expected_header}
    assert json.loads(body) == {
        "fetchedAt": "2024-05-01T12:00:00.123000+00:00",
        "day": "2024-05-01",
        "ref": "12345678-1234-5678-1234-567812345678",
        "budget": 1.5,
    }


def test_other_values_json_has_no_type_for_are_refused():
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        _ = BulkAction("index", "movies-1", "m-1", {"tags": {"a"}}).ndjson
