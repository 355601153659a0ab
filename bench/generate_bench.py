"""How long generating an index's artifacts takes on GitHub's public schema (~1,600 types).

    python bench/generate_bench.py [--runs N] [--schema PATH]

Times separately, as the median of several runs: loading the SDL schema, walking a 40-field query
template into the document model, and generating the Avro schema, index template and field catalogue
(plus compiling a ``DocumentRenderer`` and rendering one document). Prints the numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schema_gen.artifacts import generate_artifacts, render_json
from schema_gen.config import parse_config
from schema_gen.render import DocumentRenderer
from schema_gen.schema_loader import schema_from_sdl
from schema_gen.walker import build_model, parse_template

SCHEMA = Path(__file__).resolve().parent.parent.parent / "shared" / "schemas" / "github.graphql"

QUERY = """\
query RepositoryDocuments($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Repository {
      id
      name
      nameWithOwner
      description
      url
      createdAt
      updatedAt
      pushedAt
      isArchived
      isFork
      isPrivate
      forkCount
      stargazerCount
      visibility
      owner { __typename id login ... on Organization { name } ... on User { name } }
      primaryLanguage { id name color }
      licenseInfo { id key name spdxId }
      languages(first: 20) { totalSize edges { size node { id name } } }
      repositoryTopics(first: 20) { nodes { topic { id name } } }
    }
  }
}
"""

DEFINITION = {
    "index": "repositories",
    "graph": {"schema_file": "github.graphql"},
    "query": QUERY,
    "root": {"type": "Repository", "id_field": "id", "id_variable": "ids"},
    "fields": {"description": {"search": ["fulltext", "autocomplete"], "boost": 2}, "name": {"boost": 3}},
}

RESPONSE = {
    "data": {
        "nodes": [
            {
                "id": "R_1",
                "name": "graphdex",
                "nameWithOwner": "octo/graphdex",
                "description": "Searchable graphs",
                "url": "https://github.com/octo/graphdex",
                "createdAt": "2020-01-01T00:00:00Z",
                "updatedAt": "2024-01-01T00:00:00Z",
                "pushedAt": None,
                "isArchived": False,
                "isFork": False,
                "isPrivate": False,
                "forkCount": 3,
                "stargazerCount": 42,
                "visibility": "PUBLIC",
                "owner": {"__typename": "User", "id": "U_1", "login": "octo", "name": "Octo"},
                "primaryLanguage": {"id": "L_1", "name": "Python", "color": "#3572A5"},
                "licenseInfo": None,
                "languages": {"totalSize": 10, "edges": [{"size": 10, "node": {"id": "L_1", "name": "Python"}}]},
                "repositoryTopics": {"nodes": [{"topic": {"id": "T_1", "name": "search"}}]},
            }
        ]
    }
}


def median_seconds(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall time of ``runs`` calls, and the last result."""
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (default 7)")
    parser.add_argument("--schema", type=Path, default=SCHEMA, help="GitHub's SDL (default: ../shared)")
    args = parser.parse_args()

    sdl = args.schema.read_text(encoding="utf-8")
    config = parse_config(DEFINITION, "bench (inline definition)", {})
    load_time, loaded = median_seconds(lambda: schema_from_sdl(sdl, str(args.schema)), args.runs)

    def walk() -> Any:
        return build_model(loaded, parse_template(QUERY, "bench (query)"), config, "bench (query)")

    walk_time, model = median_seconds(walk, args.runs * 5)
    generate_time, artifacts = median_seconds(lambda: generate_artifacts(model, config), args.runs * 5)
    renderer_time, renderer = median_seconds(lambda: DocumentRenderer(model, config), args.runs * 5)
    render_time, _ = median_seconds(lambda: renderer.render_response(RESPONSE), args.runs * 20)

    sizes = {name: len(render_json(content)) for name, content in artifacts.files().items()}
    print(f"schema: {args.schema} ({len(sdl):,} characters, {len(loaded.schema.type_map):,} types)")
    print(f"query: {sum(1 for _ in model.fields())} fields in the document model")
    print(f"schema load (SDL parse + lenient build):  {load_time * 1000:8.1f} ms  (median of {args.runs})")
    print(f"query walk (parse + validate + model):    {walk_time * 1000:8.1f} ms  (median of {args.runs * 5})")
    print(f"artifact generation (avro+template+cat):  {generate_time * 1000:8.2f} ms  (median of {args.runs * 5})")
    print(f"renderer compile (incl. Avro parse):      {renderer_time * 1000:8.2f} ms  (median of {args.runs * 5})")
    print(f"render one response (1 document):         {render_time * 1e6:8.1f} us  (median of {args.runs * 20})")
    print("artifact sizes: " + ", ".join(f"{name} {size:,} B" for name, size in sizes.items()))


if __name__ == "__main__":
    main()
