#!/usr/bin/env bash
# Installs what graphdex needs into ./.venv, the demo gateway's npm packages, and the local stack's Java
# servers (Kafka, OpenSearch: resolved by Maven from demo/servers/*/pom.xml into ~/.m2), if not there yet.
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
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "$tool is required for the local stack's Kafka and OpenSearch: install a JDK 17+ and Maven 3.8+ (apt-get install openjdk-17-jdk-headless maven)" >&2; exit 1; }
done
.venv/bin/python -m demo.java_servers
