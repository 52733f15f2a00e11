#!/usr/bin/env bash
# The test command: set up .venv if missing (with the test dependencies), lint (ruff, configured in
# pyproject.toml), run the unit tests, then run the speed benchmarks once with timing disabled so
# that they cannot rot.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup_venv.sh test
ruff check .
python -m pytest tests "$@"
if [ -n "$(ls benchmarks/test_*.py 2>/dev/null)" ]; then
    python -m pytest benchmarks --benchmark-disable -q
fi
