"""Write results/perf.md from a pytest-benchmark JSON file: per group, each implementation's mean
time and the reference / ganbench ratio.

    python benchmarks/perf_report.py .benchmarks/latest.json results/perf.md
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def _impl(b: dict) -> str:
    return b.get("extra_info", {}).get("impl", b["name"])


def render(data: dict) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for b in data["benchmarks"]:
        groups[b.get("group") or b["name"]].append(b)
    machine = data.get("machine_info", {})
    lines = ["# Speed of ganbench's kernels against the reference implementations", "",
             "Measured side by side in one pytest-benchmark run; speed-up = the reference's mean time / "
             "ganbench's mean time (above 1: ganbench is faster). Regenerate with:", "",
             "    python -m pytest benchmarks --benchmark-json=.benchmarks/latest.json",
             "    python benchmarks/perf_report.py .benchmarks/latest.json results/perf.md", "",
             f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
             f"{machine.get('cpu', {}).get('count', '?')} cores, Python {machine.get('python_version', '?')}; "
             f"run {data.get('datetime', '?')}.", ""]
    for group in sorted(groups):
        rows = sorted(groups[group], key=lambda b: b["stats"]["mean"])
        ours = [b for b in rows if _impl(b).startswith("ganbench")]
        head = "| implementation | mean (s) | rounds |" + "".join(f" speed-up of {_impl(o)} |" for o in ours)
        lines += [f"## {group}", "", head, "|---|---|---|" + "---|" * len(ours)]
        for b in rows:
            mean = b["stats"]["mean"]
            ratios = "".join(" |" if _impl(b).startswith("ganbench") else f" {mean / o['stats']['mean']:.1f}x |"
                             for o in ours)
            lines.append(f"| {_impl(b)} | {mean:.4f} | {b['stats']['rounds']} |{ratios}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: perf_report.py BENCHMARK_JSON OUTPUT_MD", file=sys.stderr)
        return 2
    data = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(render(data))
    print(f"wrote {argv[1]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
