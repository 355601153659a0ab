"""The runtime: definition loading, the indexer daemon and its stages, backfills and the search library."""
