#!/usr/bin/env bash
# The main job: set up .venv if missing, install ganbench, run the default benchmark
# (all five variants on 4, 8, 16 and 32-mode rings, 5 seeds) and regenerate results/.
# Extra arguments go to `ganbench run`, e.g. ./run_all.sh --iters 500 --out /tmp/try
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup_venv.sh ""   # no extras (an explicit argument: a sourced script sees ours otherwise)
ganbench run --modes 4 8 16 32 --seeds 5 "$@"
