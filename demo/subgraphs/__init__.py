"""The demo's domain services: one process, GraphQL subgraph, SQLite store and set of CDC topics each.

Run one as ``python -m demo.subgraphs.<name> --host H --port P --db PATH --kafka BOOTSTRAP`` (see
``demo.services``); GraphQL is served at ``/graphql`` (and ``/``), readiness at ``GET /health``.
"""
