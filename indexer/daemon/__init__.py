"""The indexer daemon: the composition root, the process running the stages, and its health endpoints."""
