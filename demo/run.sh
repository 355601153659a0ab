#!/usr/bin/env bash
# The demo: local stack up, index provisioned and backfilled, daemon running, searches answered,
# a live change timed. Installs what is missing first (venv, pip, npm). Options: --size N,
# --keep-running (leave everything up until Ctrl-C). See demo/showcase.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
cd "$root"
exec .venv/bin/python -m demo.showcase "$@"
