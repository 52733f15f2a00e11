#!/usr/bin/env bash
# Run every published-protocol preset at one budget and rebuild results/REPRODUCTION.md:
#   scripts/reproduce.sh            # quick: the reduced budgets that fit a 2-core CPU
#   scripts/reproduce.sh paper      # the published iterations and seeds (days on a CPU; use a GPU or Ray)
# Extra arguments go to every `ganbench run` call, e.g. scripts/reproduce.sh quick --results /tmp/try
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_venv.sh ""
budget="${1:-quick}"
shift || true
presets=(veegan-2d wgan-gp-toy pacgan-2d tutorial stacked-mnist stacked-mnist-small-d)
for i in "${!presets[@]}"; do
    echo "reproduce: preset $((i + 1)) of ${#presets[@]}: ${presets[$i]} (${budget} budget)" >&2
    ganbench run --preset "${presets[$i]}" --budget "$budget" --no-report "$@"
done
results=results
for ((i = 1; i <= $#; i++)); do
    case "${!i}" in
        --results) j=$((i + 1)); results="${!j}" ;;
        --results=*) results="${!i#--results=}" ;;
    esac
done
ganbench report --results "$results"
