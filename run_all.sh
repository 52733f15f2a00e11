#!/usr/bin/env bash
# The main job: set up .venv if missing, install ganbench, run the default benchmarks and regenerate
# results/: all five variants on 4, 8, 16 and 32-mode rings with 5 seeds, then on MNIST, Stacked MNIST
# and Iris with 1 seed (a CPU budget: --seeds 5 for error bars). Extra arguments go to both `ganbench run` calls, e.g. ./run_all.sh --out /tmp/try
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup_venv.sh ""   # no extras (an explicit argument: a sourced script sees ours otherwise)
ganbench run --modes 4 8 16 32 --seeds 5 "$@"
ganbench run --dataset mnist stacked-mnist iris --seeds 1 "$@"
