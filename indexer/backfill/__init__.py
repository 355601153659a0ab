"""Backfills: every root id of an enumeration fetched from the gateway (or read back from the documents
topic) and written to one index, within load limits that protect the gateway, resumable after a stop.
"""

from indexer.backfill.checkpoint import Checkpoint, CheckpointStore
from indexer.backfill.enumeration import (
    Enumeration,
    IdListEnumeration,
    IdPage,
    IdsFileEnumeration,
    IndexEnumeration,
    QueryEnumeration,
)
from indexer.backfill.load_control import AllowedWindows, LoadLimits
from indexer.backfill.progress import BackfillSummary
from indexer.backfill.runner import run_backfill

__all__ = [
    "AllowedWindows",
    "BackfillSummary",
    "Checkpoint",
    "CheckpointStore",
    "Enumeration",
    "IdListEnumeration",
    "IdPage",
    "IdsFileEnumeration",
    "IndexEnumeration",
    "LoadLimits",
    "QueryEnumeration",
    "run_backfill",
]
