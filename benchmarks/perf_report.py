"""Write results/perf.md from a pytest-benchmark JSON file: per group, each implementation's median
time and the reference / ganbench ratio (medians: on a shared 2-core machine one round in 10 took 50x
the others, FID at d = 64: 12 ms against 0.24 ms, and a mean then says more about the machine than about
the code); with --grid, the grid-throughput measurement of benchmarks/grid_throughput.py first.

    python benchmarks/perf_report.py .benchmarks/latest.json results/perf.md --grid results/grid_throughput.json
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def _impl(b: dict) -> str:
    return b.get("extra_info", {}).get("impl", b["name"])


def render(data: dict, grid: dict | list | None = None, sections: tuple[str, ...] = ()) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for b in data["benchmarks"]:
        groups[b.get("group") or b["name"]].append(b)
    machine = data.get("machine_info", {})
    lines = ["# Speed of ganbench's kernels against the reference implementations", "",
             "Measured side by side in one pytest-benchmark run; speed-up = the reference's median time / "
             "ganbench's median time (above 1: ganbench is faster; medians, because one slow round on this "
             "shared machine dominates a mean). Regenerate with:", "",
             "    scripts/bench.sh            # the suites, compared with the stored baseline, then this file", "",
             f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
             f"{machine.get('cpu', {}).get('count', '?')} cores, Python {machine.get('python_version', '?')}; "
             f"run {data.get('datetime', '?')}.", ""]
    if grid is not None:
        from benchmarks.grid_throughput import render as render_grid

        lines.append(render_grid(grid))
    lines += [s.rstrip() + "\n" for s in sections]  # Markdown sections of other scripts (step_options.py)
    for group in sorted(groups):
        rows = sorted(groups[group], key=lambda b: b["stats"]["median"])
        ours = [b for b in rows if _impl(b).startswith("ganbench")]
        head = "| implementation | median (s) | rounds |" + "".join(f" speed-up of {_impl(o)} |" for o in ours)
        lines += [f"## {group}", "", head, "|---|---|---|" + "---|" * len(ours)]
        for b in rows:
            median = b["stats"]["median"]
            ratios = "".join(" |" if _impl(b).startswith("ganbench") else f" {median / o['stats']['median']:.1f}x |"
                             for o in ours)
            lines.append(f"| {_impl(b)} | {median:.4f} | {b['stats']['rounds']} |{ratios}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(description="write results/perf.md from pytest-benchmark JSON")
    p.add_argument("benchmark_json", type=Path)
    p.add_argument("output_md", type=Path)
    p.add_argument("--grid", type=Path, help="JSON written by benchmarks/grid_throughput.py --json")
    p.add_argument("--section", type=Path, nargs="*", default=[],
                   help="Markdown files to include as they are (benchmarks/step_options.py --md)")
    a = p.parse_args(argv)
    data = json.loads(a.benchmark_json.read_text())
    grid = json.loads(a.grid.read_text()) if a.grid else None
    a.output_md.write_text(render(data, grid, tuple(p.read_text() for p in a.section)))
    print(f"wrote {a.output_md}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main(sys.argv[1:]))
