"""What else could make a training step faster, measured: milliseconds per model-iteration of one
ensemble (5 members, one thread, the 2-D ring) trained as ganbench trains it (fp32, eager, foreach
Adam), under ``torch.autocast("cpu", torch.bfloat16)`` (the CPU's bf16 matrix products), with the
generator's and discriminator's forward passes under ``torch.compile`` (inductor; its compile time is
given apart), and with ATen's fused Adam kernel in place of foreach Adam. None is ganbench's default:
this script is the record of why (results/perf.md).

    python benchmarks/step_options.py                 # vanilla and wgan-gp, Markdown to stdout
    python benchmarks/step_options.py --md results/step_options.md
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ganbench.config import RunConfig  # noqa: E402
from ganbench.data import make_mixture  # noqa: E402
from ganbench.machine import cpu_name, has_bf16_units  # noqa: E402
from ganbench.train import train_ensemble  # noqa: E402
from ganbench.variants import get_variant  # noqa: E402

MEMBERS = 5
BF16_UNITS = {True: "with bf16 units (AVX512-BF16 / AMX)", False: "without bf16 units (AVX512-BF16 / AMX)",
              None: "bf16 units unknown"}


def _setup(variant: str):
    dims = RunConfig(variant=variant, layout="ring", modes=8, seed=0, iters=1).dims()
    mixes = [make_mixture("ring", 8, seed=s) for s in range(MEMBERS)]
    return get_variant(variant), dims, [m.points for m in mixes], [m.labels for m in mixes]


def _compiled(variant):
    """A copy of ``variant`` whose networks' forward passes go through torch.compile."""
    build = type(variant).build

    class Compiled(type(variant)):
        def build(self, gens, dims):
            G, D = build(self, gens, dims)
            G.forward, D.forward = torch.compile(G.forward), torch.compile(D.forward)
            return G, D

    return Compiled()


@contextlib.contextmanager
def _fused_adam():
    """ganbench.train's Adam (``ganbench.adam``: torch's foreach Adam, bit for bit) replaced, within, by
    ``torch.optim.Adam(..., fused=True)``. Its time includes torch.optim's ``Optimizer.step`` wrapper
    (hooks, profiler record, grad mode), which ganbench.adam does not pay: a few microseconds a step,
    against fused Adam on these small networks."""
    import ganbench.train

    adam = ganbench.train.Adam

    def fused(params, **kwargs):
        return torch.optim.Adam(params, fused=True, **kwargs)

    ganbench.train.Adam = fused
    try:
        yield
    finally:
        ganbench.train.Adam = adam


def per_model_iter_ms(variant_name: str, option: str, iters: int) -> tuple[float, float | None]:
    """(ms per model-iteration, seconds of the first short run: compilation, for "compile")."""
    variant, dims, points, labels = _setup(variant_name)
    if option == "compile":
        variant = _compiled(variant)
    ctx = (torch.autocast("cpu", dtype=torch.bfloat16) if option == "bf16-autocast"
           else _fused_adam() if option == "fused-adam" else contextlib.nullcontext())
    seeds = list(range(MEMBERS))
    with ctx:
        t0 = time.perf_counter()
        warm = train_ensemble(variant, points, labels, seeds, dims, iters=10)  # warm-up (compiles)
        first = time.perf_counter() - t0
        if option == "compile":  # train on with the compiled modules, as a long run would
            G, D = warm.G, warm.D
            variant.build = lambda gens, dims: (G, D)
        t0 = time.perf_counter()
        train_ensemble(variant, points, labels, seeds, dims, iters=iters)
        dt = time.perf_counter() - t0
    return 1000 * dt / iters / MEMBERS, (first if option == "compile" else None)


TABLE_INTRO = "Milliseconds per model-iteration"
EFFECT_INTRO = "Its effect on the results"  # the paragraph after the tables


def other_machines(md: str, machine: str) -> list[str]:
    """The tables of ``md`` (a file this script wrote) measured on another kind of machine than
    ``machine`` (its CPU name and whether it has bf16 units): kept beside a new table, since bf16's
    speed turns on those units."""
    kept = []
    for block in md.split("\n\n" + TABLE_INTRO)[1:]:
        table = TABLE_INTRO + block.split("\n\n" + EFFECT_INTRO)[0]
        if machine not in table.splitlines()[0]:
            kept.append(table.rstrip())
    return kept


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", nargs="+", default=["vanilla", "wgan-gp"])
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--md", type=Path, help="also write the Markdown section here")
    a = p.parse_args(argv)
    machine = f"{cpu_name()}, {BF16_UNITS[has_bf16_units()]}"
    lines = ["## Tried for the training step: bf16, torch.compile and fused Adam", "",
             f"{TABLE_INTRO}, one ensemble of {MEMBERS} on one thread (`python "
             f"benchmarks/step_options.py --iters {a.iters}`, "
             f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}, {machine}):", "",
             "| variant | fp32 eager (ganbench) | bf16 autocast | fused Adam | torch.compile | compile time |",
             "|---|---|---|---|---|---|"]
    for v in a.variants:
        eager, _ = per_model_iter_ms(v, "eager", a.iters)
        bf16, _ = per_model_iter_ms(v, "bf16-autocast", a.iters)
        fused, _ = per_model_iter_ms(v, "fused-adam", a.iters)
        try:
            comp, first = per_model_iter_ms(v, "compile", a.iters)
            comp_cells = f"{comp:.2f} | {first:.0f} s"
        except Exception as e:  # noqa: BLE001 - no compiler on this machine: say so in the table
            comp_cells = f"failed ({type(e).__name__}) | -"
        lines.append(f"| {v} | {eager:.2f} | {bf16:.2f} | {fused:.2f} | {comp_cells} |")
    if a.md and a.md.exists():
        lines += [f"\n{table}" for table in other_machines(a.md.read_text(), machine)]
    lines += ["", f"{EFFECT_INTRO}: `ganbench run --modes 8 32 --seeds 5 --iters 1500 --precision bf16` is "
              "in results/REPORT.md, section \"ring layout (bf16)\", beside the same grid in fp32; torch.compile is "
              "not offered (slower here, and WGAN-GP's double backward fails under it). Fused Adam is not used: its "
              "saving is small, and its kernel finishes each tensor's last partial vector chunk with scalar code "
              "that rounds differently, so a member's result would depend on the ensemble's size (see "
              "ganbench/train.py)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.md:
        a.md.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
