#!/usr/bin/env bash
# The test command: installs what is missing (venv, pip, npm), then runs every test.
# Extra arguments go to pytest, e.g. `bash tests/run.sh -m "not e2e"` or `bash tests/run.sh tests/schema_gen`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
cd "$root"
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
