"""Grid throughput: model-iterations per second of ``ganbench run`` on a mixture grid against the
tutorial's loop (benchmarks/tutorial_loop.py: one model at a time, PyTorch's default threads).

    python benchmarks/grid_throughput.py                    # modes 8 32, 5 seeds, 1000 iterations
    python benchmarks/grid_throughput.py --json results/grid_throughput.json

ganbench's side is the real thing: ``run_grid`` with one worker per core, from a fresh output folder,
wall-clock time including worker start-up and the evaluation of every run. The tutorial's side trains
no grid (that would take hours): its seconds per iteration are measured for each (variant, modes) on
one model for ``--sample-iters`` iterations and multiplied by the grid's iterations; it evaluates
nothing. The tutorial has no PacGAN or minibatch-discrimination loop: those runs are charged at its
vanilla loop's cost, which is lower than theirs would be. Both choices favour the tutorial side.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.tutorial_loop import tutorial_train  # noqa: E402
from ganbench.data import make_mixture  # noqa: E402
from ganbench.config import plan_grid  # noqa: E402
from ganbench.driver import run_grid  # noqa: E402
from ganbench.variants import DEFAULT_VARIANTS  # noqa: E402

TUTORIAL_LOSSES = {"vanilla": "vanilla", "wgan-gp": "wgan-gp", "cond-wgan-gp": "cond-wgan-gp",
                   "pacgan": "vanilla", "minibatch": "vanilla"}  # variant -> the tutorial loop charged


def tutorial_seconds_per_iter(variant: str, modes: int, sample_iters: int) -> float:
    mix = make_mixture("ring", modes, seed=0)
    loss = TUTORIAL_LOSSES[variant]
    tutorial_train(loss, mix.points, mix.labels, modes, 5)  # warm-up
    t0 = time.perf_counter()
    tutorial_train(loss, mix.points, mix.labels, modes, sample_iters)
    return (time.perf_counter() - t0) / sample_iters


def measure(modes: list[int], seeds: int, iters: int, sample_iters: int, jobs: int, variants: list[str]) -> dict:
    configs = plan_grid(variants, ["ring"], modes, seeds, iters=iters)
    model_iters = len(configs) * iters
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        counts = run_grid(configs, Path(out), jobs=jobs, progress=True)
        ours = time.perf_counter() - t0
    assert counts["trained"] == len(configs)
    torch.set_num_threads(os.cpu_count() or 1)  # the tutorial runs with PyTorch's default threads
    per_iter = {f"{v}/{m}": tutorial_seconds_per_iter(v, m, sample_iters) for v in variants for m in modes}
    theirs = sum(per_iter[f"{c.variant}/{c.modes}"] * iters for c in configs)
    return {"grid": {"variants": variants, "layout": "ring", "modes": modes, "seeds": seeds, "iters": iters,
                     "runs": len(configs), "model_iterations": model_iters, "jobs": jobs},
            "ganbench_wall_s": ours, "ganbench_model_iters_per_s": model_iters / ours,
            "tutorial_s_per_iter": per_iter, "tutorial_estimated_s": theirs,
            "tutorial_model_iters_per_s": model_iters / theirs, "speedup": theirs / ours,
            "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                        "python": platform.python_version(), "torch": torch.__version__},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def render(res: dict) -> str:
    """The Markdown section perf_report.py puts in results/perf.md."""
    g = res["grid"]
    lines = ["## Grid throughput: `ganbench run` against the tutorial's loop", "",
             f"`ganbench run --modes {' '.join(map(str, g['modes']))} --seeds {g['seeds']} --iters {g['iters']}` "
             f"({g['runs']} runs, {g['model_iterations']:,} model-iterations, {g['jobs']} workers), wall-clock "
             f"with start-up and evaluation: {res['ganbench_wall_s']:.0f} s, "
             f"{res['ganbench_model_iters_per_s']:.0f} model-iterations/s. The tutorial's loop, one model at a "
             f"time, would take {res['tutorial_estimated_s']:.0f} s ({res['tutorial_model_iters_per_s']:.0f} "
             f"model-iterations/s): **{res['speedup']:.1f}x**. Measured by `python benchmarks/grid_throughput.py` "
             f"on {res['machine']['cores']} cores, {res['created']}.", "",
             "| tutorial loop, seconds per iteration of one model | " + " | ".join(res["tutorial_s_per_iter"]) + " |",
             "|---|" + "---|" * len(res["tutorial_s_per_iter"]),
             "| | " + " | ".join(f"{1000 * s:.1f} ms" for s in res["tutorial_s_per_iter"].values()) + " |", "",
             "PacGAN and minibatch discrimination are charged at the tutorial's vanilla loop (it has no loop "
             "for them; theirs would cost more), and the tutorial side evaluates nothing: both favour it.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modes", type=int, nargs="+", default=[8, 32])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--iters", type=int, default=1000)
    p.add_argument("--sample-iters", type=int, default=100, help="iterations timed per tutorial model")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS))
    p.add_argument("--json", type=Path, help="write the measurement here (perf_report.py --grid reads it)")
    a = p.parse_args(argv)
    res = measure(a.modes, a.seeds, a.iters, a.sample_iters, a.jobs, a.variants)
    print(render(res))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
