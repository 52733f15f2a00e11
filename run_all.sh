#!/usr/bin/env bash
# The main job: set up .venv if missing, then run every command that made results/ and rebuild the
# reports. Each `ganbench run` trains only the runs whose records are missing (and says how long that
# will take first), so on a fresh clone, where every record is committed, nothing trains and results/
# comes out byte for byte as committed; the last line says whether it did.
#
# Extra arguments reach the steps they apply to: --jobs N, --device D, --executor E, --address A and
# --no-progress go to every `ganbench run`; --results DIR to every command. The grids themselves are
# fixed (they are what results/ holds): for another grid, call `ganbench run` yourself.
set -euo pipefail
cd "$(dirname "$0")"

run_args=()
results=results
refuse() { echo "run_all: error: $*" >&2; exit 2; }
take() {  # take OPTION VALUE: checked here, before anything slow starts
    case "$2" in ""|-*) refuse "$1 needs a value, got '${2}'" ;; esac
    case "$1" in
        --jobs) [[ "$2" =~ ^[1-9][0-9]{0,3}$ ]] && [ "$2" -le 4096 ] || refuse "--jobs must be a whole number from 1 to 4096, got '$2'" ;;
        --executor) [[ "$2" =~ ^(local|ray)$ ]] || refuse "--executor must be local or ray, got '$2'" ;;
    esac
    if [ "$1" = --results ]; then results="$2"; else run_args+=("$1" "$2"); fi
}
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs|--device|--executor|--address|--results)
            [ $# -ge 2 ] || refuse "$1 needs a value"
            take "$1" "$2"
            shift 2 ;;
        --jobs=*|--device=*|--executor=*|--address=*|--results=*) take "${1%%=*}" "${1#*=}"; shift ;;
        --no-progress) run_args+=("$1"); shift ;;
        *) refuse "$1 is not taken: run_all.sh regenerates the committed results, whose grids are fixed; it takes" \
                  "--jobs, --device, --executor, --address, --no-progress and --results (for another grid: ganbench run)" ;;
    esac
done

source scripts/setup_venv.sh ""   # no extras (an explicit argument: a sourced script sees ours otherwise)

# What results/ holds, one command each (README, "What results/ holds"): description | ganbench run options
steps=(
    "the default grid, every run trained until it settles|--modes 4 8 16 32 --seeds 5 --iters auto --iters-start 1000 --iters-cap 8000"
    "the default grid at a fixed 1,500 iterations|--modes 4 8 16 32 --seeds 5 --iters 1500"
    "the 8- and 32-mode grid in opt-in bf16|--modes 8 32 --seeds 5 --iters 1500 --precision bf16"
    "Stacked MNIST at its CPU budget (300 iterations, where it is untrained), 2 seeds|--dataset stacked-mnist --seeds 2"
    "Iris at its CPU budget, 5 seeds|--dataset iris --seeds 5"
    "MNIST at 3,000 iterations, seed 0 (the image budget's measurement, with trajectories)|--dataset mnist --seeds 1 --iters 3000"
    "MNIST at its CPU budget, 6,000 iterations, 5 seeds (seed 0 trained on from its 3,000-iteration checkpoint)|--dataset mnist --seeds 5"
    "preset veegan-2d, quick budget|--preset veegan-2d"
    "preset wgan-gp-toy, quick budget|--preset wgan-gp-toy"
    "preset pacgan-2d, quick budget|--preset pacgan-2d"
    "preset pacgan-2d at 10,000 iterations, 10 seeds|--preset pacgan-2d --iters 10000 --seeds 10"
    "preset tutorial, its paper budget|--preset tutorial --budget paper"
    "preset stacked-mnist, quick budget|--preset stacked-mnist"
    "preset stacked-mnist at 1,000 iterations, one seed (with trajectories)|--preset stacked-mnist --seeds 1 --iters 1000"
    "preset stacked-mnist at 2,000 iterations, one seed (the same runs trained on)|--preset stacked-mnist --seeds 1 --iters 2000"
    "preset stacked-mnist at 5,000 iterations, one seed (with trajectories)|--preset stacked-mnist --seeds 1 --iters 5000"
    "preset stacked-mnist at 10,000 iterations, one seed (with trajectories)|--preset stacked-mnist --seeds 1 --iters 10000"
    "preset stacked-mnist-small-d, quick budget|--preset stacked-mnist-small-d"
    "preset mnist-gan (the tutorial's MNIST MLP GAN), quick budget|--preset mnist-gan"
    "preset mnist-gan at its paper budget (50 epochs, one run)|--preset mnist-gan --budget paper"
    "the hyperparameter sensitivity panel|--preset sensitivity-2d"
)
n=$((${#steps[@]} + 1))
for i in "${!steps[@]}"; do
    what="${steps[$i]%%|*}"
    read -r -a options <<< "${steps[$i]#*|}"
    echo "run_all: step $((i + 1)) of $n: $what (ganbench run ${options[*]})" >&2
    ganbench run "${options[@]}" --no-report --results "$results" ${run_args[@]+"${run_args[@]}"}
done
echo "run_all: step $n of $n: REPORT.md, REPRODUCTION.md and SENSITIVITY.md (ganbench report)" >&2
ganbench report --results "$results"

# Byte for byte: compare with the commit when results/ is the repository's own.
if [ "$(realpath -m "$results")" = "$(realpath -m results)" ] && git rev-parse --git-dir >/dev/null 2>&1; then
    changed=$(git status --porcelain --untracked-files=all -- results | wc -l)
    if [ "$changed" -eq 0 ]; then
        echo "run_all: results/ is byte for byte the committed one (git status results/ is clean)" >&2
    else
        echo "run_all: results/ differs from the commit in $changed file(s): see git status results/" >&2
    fi
fi
