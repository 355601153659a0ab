"""Which offsets a stage runner may commit, per partition.

An offset is *stored* once the record before it is processed and everything it led to is
acknowledged. The commit for a partition is the stored offset, but never past what the stage still
*holds* (work kept across batches, such as a delayed fan-out) nor past what is *pinned* (held offsets
from before a delivery that failed after the stage had already counted the work as done). Offsets
are Kafka's "next record to read": committing 7 means record 7 is read again after a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from indexer.messages import Record

Partition = tuple[str, int]


class OffsetLedger:
    """Stored, committed and pinned offsets of one runner's assigned partitions."""

    def __init__(self) -> None:
        self._stored: dict[Partition, int] = {}
        self._committed: dict[Partition, int] = {}
        self._pinned: dict[Partition, int] = {}
        self.uncommitted = 0
        """Records stored since the last commit (for the count checkpoint)."""

    @property
    def has_uncommitted(self) -> bool:
        return bool(self._stored)

    def store(self, records: Sequence[Record], assigned: set[Partition]) -> None:
        """``records`` are done: their partitions may be committed past them (if still assigned)."""
        for record in records:
            partition = (record.topic, record.partition)
            if partition in assigned and record.offset + 1 > self._stored.get(partition, -1):
                self._stored[partition] = record.offset + 1
        self.uncommitted += len(records)

    def pin(self, held: Mapping[Partition, int]) -> None:
        """Keep commits at or below ``held`` for as long as the partitions stay assigned."""
        for partition, offset in held.items():
            self._pinned[partition] = min(self._pinned.get(partition, offset), offset)

    def to_commit(
        self, held: Mapping[Partition, int], partitions: Iterable[Partition] | None = None
    ) -> dict[Partition, int]:
        """Offsets to commit now (only those that differ from the last commit), within ``partitions``."""
        chosen = set(self._stored) if partitions is None else set(partitions) & set(self._stored)
        offsets: dict[Partition, int] = {}
        for partition in sorted(chosen):
            offset = min(self._stored[partition], held.get(partition, self._stored[partition]))
            offset = min(offset, self._pinned.get(partition, offset))
            if offset != self._committed.get(partition):
                offsets[partition] = offset
            elif offset == self._stored[partition]:
                del self._stored[partition]  # already committed: nothing left to do for it
        return offsets

    def committed(self, partition: Partition, offset: int) -> None:
        """Kafka accepted ``offset`` for ``partition``."""
        self._committed[partition] = offset
        if self._stored.get(partition) == offset:
            del self._stored[partition]

    def checkpointed(self) -> None:
        self.uncommitted = 0

    def forget(self, partitions: Iterable[Partition]) -> None:
        """The partitions are no longer ours; their next owner starts from the committed offset."""
        for partition in partitions:
            self._stored.pop(partition, None)
            self._committed.pop(partition, None)
            self._pinned.pop(partition, None)
