"""Pure generation: GraphQL schema + templated query + index config in, artifacts out. No I/O."""
