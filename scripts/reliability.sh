#!/usr/bin/env bash
# Run the fault, bad-input and hostile-environment suites and write results/reliability.md (what they tried, how it went).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_venv.sh test
GANBENCH_RELIABILITY="${1:-results/reliability.md}" python -m pytest -q \
    tests/test_fuzz.py tests/test_faults.py tests/test_hostile.py tests/test_ray.py \
    tests/test_runner.py::test_a_killed_cli_run_loses_only_unfinished_jobs \
    tests/test_runner.py::test_corrupt_and_foreign_files_are_reported_by_name_and_skipped
