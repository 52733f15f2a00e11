#!/usr/bin/env bash
# The main job: set up .venv if missing, install ganbench, run the default benchmarks and regenerate
# results/:
#   1. all five variants on 4, 8, 16 and 32-mode rings, 5 seeds, each run trained until it settles
#      (--iters auto: from 1,000 iterations, doubling, up to 8,000; ganbench/convergence.py's rule);
#   2. MNIST, Stacked MNIST and Iris, 2 seeds, at the CPU budget of each dataset;
#   3. every published-protocol preset at its quick budget (scripts/reproduce.sh), for REPRODUCTION.md.
# Extra arguments go to every `ganbench run` call, e.g. ./run_all.sh --out /tmp/try
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup_venv.sh ""   # no extras (an explicit argument: a sourced script sees ours otherwise)
# Each step skips the report (--no-report); it is rebuilt once at the end.
echo "run_all: step 1 of 4: the mixture grid (ganbench run --modes 4 8 16 32 --seeds 5 --iters auto)" >&2
budget=(--iters auto --iters-start 1000 --iters-cap 8000)
for a in "$@"; do case "$a" in --iters|--iters=*) budget=() ;; esac; done  # the caller's budget wins
ganbench run --modes 4 8 16 32 --seeds 5 "${budget[@]}" --no-report "$@"
echo "run_all: step 2 of 4: MNIST, Stacked MNIST and Iris (ganbench run --dataset ... --seeds 2)" >&2
ganbench run --dataset mnist stacked-mnist iris --seeds 2 --no-report "$@"
echo "run_all: step 3 of 4: the published-protocol presets at their quick budget (scripts/reproduce.sh quick)" >&2
GANBENCH_STEP_OF="3 of 4" GANBENCH_NO_REPORT=1 scripts/reproduce.sh quick "$@"
echo "run_all: step 4 of 4: REPORT.md and REPRODUCTION.md (ganbench report)" >&2
out=results
for ((i = 1; i <= $#; i++)); do [ "${!i}" = "--out" ] && j=$((i + 1)) && out="${!j}"; done
ganbench report --out "$out"
