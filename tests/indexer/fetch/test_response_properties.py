"""Properties of splitting list-mode responses: one result per id, and never data an error touches."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from indexer.fetch.response import Absent, Errored, Found, split_response
from schema_gen.batching import BatchQuery

IDS = ("m1", "m2", "m3", "m4")
entity = st.one_of(
    st.none(),
    st.builds(lambda i: {"movieId": i, "title": "t"}, st.sampled_from([*IDS, "other"])),
    st.just({"movieId": None, "title": "t"}),
)
path = st.one_of(
    st.none(),
    st.just(["movies"]),
    st.builds(lambda n: ["movies", n, "title"], st.integers(0, 5)),
    st.just(["elsewhere"]),
)


@given(
    ids=st.lists(st.sampled_from(IDS), min_size=1, max_size=4, unique=True),
    entities=st.lists(entity, max_size=6),
    paths=st.lists(path, max_size=3),
)
def test_results_cover_every_id_and_never_hand_out_touched_data(ids, entities, paths):
    """Exactly one result per id; an entity an error points at is never Found; with any error that
    cannot be placed, nothing is Found or Absent; an id is Absent only if no entity might be it."""
    batch = BatchQuery(tuple(ids), "q", None, {"ids": ids})
    errors = [{"message": "e"} if p is None else {"message": "e", "path": p} for p in paths]
    body = {"data": {"movies": entities}, "errors": errors}
    results = split_response(batch, body, root_key="movies", id_field="movieId")
    assert list(results) == ids
    for error_path in paths:
        if error_path and error_path[0] == "movies" and len(error_path) > 1 and error_path[1] < len(entities):
            touched = entities[error_path[1]]
            if touched and touched["movieId"] in ids:
                assert isinstance(results[touched["movieId"]], Errored)
    placeable = all(p is not None and p[0] == "movies" and (len(p) == 1 or p[1] < len(entities)) for p in paths)
    if not placeable:
        assert all(isinstance(result, Errored) for result in results.values())
    for document_id, result in results.items():
        if isinstance(result, Found):
            assert result.entity["movieId"] in (document_id, None)
        if isinstance(result, Absent):
            assert all(e is None or e["movieId"] != document_id for e in entities)
            if any(e is not None and e["movieId"] is None for e in entities):  # then only by position
                assert len(entities) == len(ids)
                assert entities[ids.index(document_id)] is None
