"""Grid throughput, end to end: wall-clock seconds of the ``ganbench run`` command (a fresh process,
start-up, workers, training, evaluation of every run and the report) against the tutorial's loop
(benchmarks/tutorial_loop.py: one model at a time, PyTorch's default threads) on the same jobs.

    python benchmarks/grid_throughput.py                    # every scenario below
    python benchmarks/grid_throughput.py --scenario seeds   # one of them
    python benchmarks/grid_throughput.py --json results/grid_throughput.json

Scenarios: ``grid``, the five default variants on 8- and 32-mode rings, 5 seeds, 1,000 iterations
(50 runs); ``seeds``, one config with many seeds (vanilla, 8 modes, 10 seeds, 2,000 iterations);
``seeds-8k``, the same at 8,000 iterations (the tutorial's WGAN-GP budget). The seeds scenarios are
measured three times on each side, alternating (``--repeat``): ganbench's median against the tutorial's
fastest. The tutorial's side trains no grid (that would take hours): its seconds per iteration are
the fastest of 3 timings of one model for ``--sample-iters`` iterations, for each (variant, modes), and
multiplied by the grid's iterations; it evaluates nothing and writes no report. The tutorial has no PacGAN or
minibatch-discrimination loop: those runs are charged at its vanilla loop with ganbench's discriminator
for them written one model at a time (benchmarks/tutorial_loop.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.tutorial_loop import tutorial_train  # noqa: E402
from ganbench.config import plan_grid  # noqa: E402
from ganbench.data import make_mixture  # noqa: E402
from ganbench.machine import cpu_name  # noqa: E402
from ganbench.variants import DEFAULT_VARIANTS  # noqa: E402

# The tutorial loop runs on two threads, and its timing swings the most with a shared machine's load:
# its fastest sample is taken, so that a short slow spell never counts in ganbench's favour (a slow hour
# still does: README.md, "Speed benchmarks").
TUTORIAL_SAMPLES = 3


def tutorial_seconds_per_iter(variant: str, modes: int, sample_iters: int, samples: int = TUTORIAL_SAMPLES) -> float:
    """The tutorial loop's seconds per iteration: the fastest of ``samples`` timings of ``sample_iters``
    iterations (see TUTORIAL_SAMPLES)."""
    mix = make_mixture("ring", modes, seed=0)
    tutorial_train(variant, mix.points, mix.labels, modes, 5)  # warm-up
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        tutorial_train(variant, mix.points, mix.labels, modes, sample_iters)
        times.append((time.perf_counter() - t0) / sample_iters)
    return min(times)


# repeat: measurements of each side; ganbench's median is compared with the tutorial's fastest (a short
# scenario's one measurement varies by ~10 % here; the grid's minutes average that out)
SCENARIOS = {
    "grid": dict(variants=list(DEFAULT_VARIANTS), modes=[8, 32], seeds=5, iters=1000, repeat=1),
    "seeds": dict(variants=["vanilla"], modes=[8], seeds=10, iters=2000, repeat=3),
    # the same at the tutorial's WGAN-GP budget: how the fixed costs (start-up, evaluation, report) amortise
    "seeds-8k": dict(variants=["vanilla"], modes=[8], seeds=10, iters=8000, repeat=3),
}


def measure(name: str, variants: list[str], modes: list[int], seeds: int, iters: int, sample_iters: int,
            jobs: int, extra: list[str] = (), repeat: int = 1) -> dict:
    """``repeat`` times each side, alternating; ganbench's median wall-clock is compared with the tutorial's
    fastest samples (this machine's timings of one command vary by up to ~10 % from run to run)."""
    configs = plan_grid(variants, ["ring"], modes, seeds, iters=iters)
    model_iters = len(configs) * iters
    cmd = [sys.executable, "-m", "ganbench", "run", "--variants", *variants, "--modes", *map(str, modes),
           "--seeds", str(seeds), "--iters", str(iters), "--jobs", str(jobs), "--no-progress", *extra]
    walls, samples = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run(cmd + ["--results", out], check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
        torch.set_num_threads(os.cpu_count() or 1)  # the tutorial runs with PyTorch's default threads
        samples.append({f"{v}/{m}": tutorial_seconds_per_iter(v, m, sample_iters) for v in variants for m in modes})
    ours = statistics.median(walls)
    per_iter = {key: min(s[key] for s in samples) for key in samples[0]}  # see TUTORIAL_SAMPLES

    def tutorial_seconds(s_per_iter: dict) -> float:
        return sum(s_per_iter[f"{c.variant}/{c.modes}"] * iters for c in configs)

    theirs = tutorial_seconds(per_iter)
    return {"scenario": name, "command": " ".join(cmd[1:] + ["--results", "DIR"]),
            "grid": {"variants": variants, "layout": "ring", "modes": modes, "seeds": seeds, "iters": iters,
                     "runs": len(configs), "model_iterations": model_iters, "jobs": jobs},
            "repeat": repeat, "ganbench_wall_samples_s": walls,
            "tutorial_estimated_samples_s": [tutorial_seconds(x) for x in samples],
            "ganbench_wall_s": ours, "ganbench_model_iters_per_s": model_iters / ours,
            "tutorial_s_per_iter": per_iter, "tutorial_estimated_s": theirs,
            "tutorial_model_iters_per_s": model_iters / theirs, "speedup": theirs / ours,
            "machine": {"cpu": cpu_name(), "cores": os.cpu_count(),
                        "python": platform.python_version(), "torch": torch.__version__},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def report_rebuild(results: Path) -> dict:
    """Seconds of ``ganbench report`` (the whole command) on a copy of ``results``: cold (no figure
    drawn yet) and warm (figures whose inputs are unchanged are kept: the usual rebuild)."""
    import shutil

    cmd = [sys.executable, "-m", "ganbench", "report", "--results"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results"
        shutil.copytree(results, out, ignore=shutil.ignore_patterns("*.pt"))
        shutil.rmtree(out / "figures", ignore_errors=True)
        times = {}
        for name in ("cold", "warm"):
            t0 = time.perf_counter()
            subprocess.run(cmd + [str(out)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name] = time.perf_counter() - t0
        runs = len(list((out / "runs").glob("*.json")))
    return {"scenario": "report", "runs": runs, "cold_s": times["cold"], "warm_s": times["warm"],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _spread(r: dict) -> str:
    """The speed-up of each measurement of a repeated scenario (the table's own: ganbench's median against
    the tutorial's fastest)."""
    if r.get("repeat", 1) <= 1:
        return " |"
    each = [f"{theirs / ours:.1f}x" for ours, theirs
            in zip(r["ganbench_wall_samples_s"], r["tutorial_estimated_samples_s"], strict=True)]
    return f" {', '.join(each)} ({r['repeat']} measurements) |"


def render(results) -> str:
    """The Markdown section perf_report.py puts in results/perf.md (``results``: one measurement or a
    list of them)."""
    results = results if isinstance(results, list) else [results]
    reports = [r for r in results if r.get("scenario") == "report"]
    results = [r for r in results if r.get("scenario") != "report"]
    lines: list[str] = []
    if results:
        lines = ["## End to end: `ganbench run` against the tutorial's loop", "",
                 "Wall-clock of the whole command (start-up, workers, training, evaluation of every run, report) "
                 "against the tutorial's loop on the same jobs, one model at a time, which evaluates nothing. "
                 "Measured by `python benchmarks/grid_throughput.py`.", "",
                 f"The tutorial loop's time is its fastest sample ({TUTORIAL_SAMPLES} back to back per cell and "
                 "measurement, two threads): its timing swings the most with this machine's load. That removes a "
                 "short slow spell, not a slow hour, which raises the ratio: read the ratios of one run together, "
                 "and several runs as a range (README.md, \"Speed benchmarks\"). Where a scenario was measured "
                 "more than once, ganbench's time is the median of its measurements, and the last column gives "
                 "each measurement's own speed-up.", "",
                 "| scenario | command | runs | model-iterations | ganbench | tutorial loop | speed-up "
                 "| each measurement |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in results:
            g = r["grid"]
            lines.append(f"| {r.get('scenario', 'grid')} | `{r.get('command', '')}` | {g['runs']} | "
                         f"{g['model_iterations']:,} | {r['ganbench_wall_s']:.0f} s | "
                         f"{r['tutorial_estimated_s']:.0f} s | **{r['speedup']:.1f}x** |{_spread(r)}")
        per_iter = {k: v for r in results for k, v in r["tutorial_s_per_iter"].items()}
        m = results[0]["machine"]
        lines += ["", f"On {m['cores']} cores ({m['cpu']}, torch {m['torch']}), {results[0]['created']}.", "",
                  "| tutorial loop, seconds per iteration of one model | " + " | ".join(per_iter) + " |",
                  "|---|" + "---|" * len(per_iter),
                  "| | " + " | ".join(f"{1000 * s:.1f} ms" for s in per_iter.values()) + " |", "",
                  "The tutorial has no PacGAN or minibatch-discrimination loop: theirs is its vanilla loop with "
                  "ganbench's discriminator for them, written one model at a time (benchmarks/tutorial_loop.py). "
                  "The tutorial side evaluates nothing, which favours it.", ""]
    for r in reports:
        lines += ["## Report rebuild", "",
                  f"`ganbench report` on the committed results ({r['runs']} records), the whole command: "
                  f"**{r['warm_s']:.1f} s** when the figures' inputs are unchanged (the usual rebuild: a figure is "
                  f"drawn again only when its inputs change), {r['cold_s']:.1f} s with every figure drawn anew. "
                  f"Measured by `python benchmarks/grid_throughput.py --scenario report`, {r['created']}.", ""]
    return "\n".join(lines)


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {n}")
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", nargs="+", default=[*SCENARIOS, "report"], choices=[*SCENARIOS, "report"])
    p.add_argument("--results", type=Path, default=Path("results"), help="the folder the report scenario rebuilds")
    p.add_argument("--sample-iters", type=int, default=300, help="iterations timed per tutorial model")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeat", type=_positive, help="measure each side this many times: ganbench's median "
                                                    "against the tutorial's fastest (default: the scenario's, 1 to 3)")
    p.add_argument("--json", type=Path, help="write the measurements here (perf_report.py --grid reads it)")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more `ganbench run` options")
    a = p.parse_args(argv)
    extra = [x for x in a.extra if x != "--"]
    res = [report_rebuild(a.results) if name == "report" else
           measure(name, **SCENARIOS[name] | ({} if a.repeat is None else {"repeat": a.repeat}),
                   sample_iters=a.sample_iters, jobs=a.jobs, extra=extra)
           for name in a.scenario]
    print(render(res))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
