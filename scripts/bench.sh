#!/usr/bin/env bash
# The speed suites (benchmarks/, pytest-benchmark): every ganbench kernel beside its reference
# implementation in one run, compared with the baseline stored in the repository
# (benchmarks/baseline/), failing when any median is more than 20% slower than there; then
# results/perf.md is rewritten with the ratios (also when the comparison fails).
#
#   scripts/bench.sh                    # run, compare with the baseline, write results/perf.md
#   scripts/bench.sh --grid             # also measure the grid throughput (about 10 minutes)
#   scripts/bench.sh --save-baseline    # run and store this run as the new baseline
# Other arguments go to pytest (e.g. -k fid).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_venv.sh test
store=benchmarks/baseline
mode=compare grid=0 pass=()
for a in "$@"; do
    case "$a" in
        --save-baseline) mode=save ;;
        --grid) grid=1 ;;
        *) pass+=("$a") ;;
    esac
done
mkdir -p .benchmarks
args=(--benchmark-storage="file://$store" --benchmark-json=.benchmarks/latest.json)
if [ "$mode" = save ]; then
    args+=(--benchmark-save=baseline)
elif [ -n "$(find "$store" -name '*.json' 2>/dev/null | head -1)" ]; then
    # the newest run stored for this kind of machine (pytest-benchmark keeps one folder per machine id)
    args+=(--benchmark-compare --benchmark-compare-fail=median:20%)
else
    echo "bench: no baseline in $store yet (scripts/bench.sh --save-baseline makes one)" >&2
fi
python -m pytest benchmarks "${args[@]}" "${pass[@]}"
rc=$?
if [ "$grid" = 1 ]; then
    python benchmarks/grid_throughput.py --json results/grid_throughput.json || rc=$?
fi
grid_args=()
[ -f results/grid_throughput.json ] && grid_args=(--grid results/grid_throughput.json)
sections=()  # one --section with every file: the option takes a list, a second one would replace the first
[ -f results/step_options.md ] && sections+=(results/step_options.md)
[ -f docs/perf_notes.md ] && sections+=(docs/perf_notes.md)  # the figures behind code comments
[ "${#sections[@]}" -gt 0 ] && grid_args+=(--section "${sections[@]}")
if [ -f .benchmarks/latest.json ]; then
    python benchmarks/perf_report.py .benchmarks/latest.json results/perf.md "${grid_args[@]}" || rc=$?
fi
[ "$rc" = 0 ] || echo "bench: failed (exit $rc): a benchmark failed or a median regressed by more than 20%" >&2
exit "$rc"
