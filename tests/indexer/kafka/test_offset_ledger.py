"""OffsetLedger: stored, held and pinned offsets decide what a runner commits."""

from __future__ import annotations

from indexer.kafka.offset_ledger import OffsetLedger
from indexer.messages import Record

P0, P1 = ("req", 0), ("req", 1)
ASSIGNED = {P0, P1}


def records(partition: tuple[str, int], *offsets: int) -> list[Record]:
    return [Record(partition[0], partition[1], offset, None, None) for offset in offsets]


def test_commit_is_one_past_the_last_processed_record():
    """The offset to commit is the next record to read, per partition."""
    ledger = OffsetLedger()
    ledger.store(records(P0, 0, 1, 2) + records(P1, 5), ASSIGNED)
    assert ledger.to_commit({}) == {P0: 3, P1: 6}
    assert ledger.uncommitted == 4


def test_committed_offsets_are_not_committed_again():
    """After Kafka accepted an offset, the partition has nothing left to commit."""
    ledger = OffsetLedger()
    ledger.store(records(P0, 0), ASSIGNED)
    ledger.committed(P0, 1)
    assert not ledger.has_uncommitted
    assert ledger.to_commit({}) == {}


def test_held_offsets_keep_commits_behind_pending_work():
    """A held offset caps the commit until the stage lets it go."""
    ledger = OffsetLedger()
    ledger.store(records(P0, 0, 1, 2, 3), ASSIGNED)
    assert ledger.to_commit({P0: 1}) == {P0: 1}
    ledger.committed(P0, 1)
    assert ledger.to_commit({P0: 1}) == {}
    assert ledger.has_uncommitted
    assert ledger.to_commit({}) == {P0: 4}


def test_pinned_offsets_outlive_what_the_stage_holds():
    """After a failed delivery the pinned offset caps commits even when the stage holds nothing."""
    ledger = OffsetLedger()
    ledger.store(records(P0, 0, 1, 2), ASSIGNED)
    ledger.pin({P0: 2})
    ledger.pin({P0: 5})
    assert ledger.to_commit({}) == {P0: 2}
    ledger.forget([P0])
    ledger.store(records(P0, 3), ASSIGNED)
    assert ledger.to_commit({}) == {P0: 4}


def test_records_of_partitions_no_longer_assigned_are_not_stored():
    """A record of a revoked partition never moves its offset: the new owner decides."""
    ledger = OffsetLedger()
    ledger.store(records(P1, 9), {P0})
    assert ledger.to_commit({}) == {}


def test_commit_can_be_limited_to_some_partitions():
    """On revocation only the revoked partitions are committed."""
    ledger = OffsetLedger()
    ledger.store(records(P0, 0) + records(P1, 0), ASSIGNED)
    assert ledger.to_commit({}, partitions=[P1]) == {P1: 1}


def test_offsets_only_move_forward():
    """Storing an older record after a newer one never moves the offset back."""
    ledger = OffsetLedger()
    ledger.store(records(P0, 4), ASSIGNED)
    ledger.store(records(P0, 2), ASSIGNED)
    assert ledger.to_commit({}) == {P0: 5}
