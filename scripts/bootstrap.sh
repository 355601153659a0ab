#!/usr/bin/env bash
# Installs what graphdex needs into ./.venv (and the demo gateway's npm packages) if not there yet.
# Idempotent: a second run only checks. Used by demo/run.sh, tests/run.sh and .ci/run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.graphdex-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi
if [ -f demo/gateway/package-lock.json ]; then
  if [ ! -d demo/gateway/node_modules ] || [ demo/gateway/package-lock.json -nt demo/gateway/node_modules ]; then
    command -v npm >/dev/null || { echo "npm is required for the demo gateway: install Node.js 20 (apt-get install nodejs npm)" >&2; exit 1; }
    (cd demo/gateway && npm ci --no-audit --no-fund --loglevel=error)
    touch demo/gateway/node_modules
  fi
fi
