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

from ganbench.cli_parser import (  # noqa: F401 - build_parser: the parser's public name here too
    EXIT_USAGE,
    MAX_JOBS,
    UsageError,
    _hparams,
    _old_names,
    build_parser,
)
from ganbench.constants import (
    AUTO_CAP,
    AUTO_START,
)
from ganbench.datasets import load_source, needs_evaluator
from ganbench.files import check_npy_header
from ganbench.variants import DEFAULT_VARIANTS

# Heavy modules (torch, scikit-learn) are imported by the commands that need them, so that
# `ganbench --help` answers at once.


def cmd_run(args) -> int:
    from ganbench.driver import run_grid
    from ganbench.executors import WorkerStartError
    from ganbench.store import check_writable

    try:
        configs = _plan(args)
        if args.data_dir is not None:
            _check_data_dir(args.data_dir)
        for name in sorted({c.layout for c in configs if needs_evaluator([c.layout])}):
            load_source(name, args.data_dir)  # fail now, with the message naming where it was looked for
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
    from ganbench.config import preset_jobs
    from ganbench.presets import get_preset

    given = [f"--{name.replace('_', '-')}" for name in _PRESET_FIXES if getattr(args, name) not in (None, [])]
    if given:
        raise ValueError(f"--preset {args.preset} fixes the grid itself; drop {', '.join(given)} "
                         "(only --budget, --seeds and --iters go with a preset)")
    return preset_jobs(get_preset(args.preset), args.budget or "quick", seeds=args.seeds, iters=args.iters)


def _check_data_dir(path: Path) -> None:
    """Refuse a --data-dir that cannot hold MNIST (it would be passed over for the next source)."""
    problem = ("does not exist" if not path.exists() else "is not a directory" if not path.is_dir()
               else "is empty" if not any(path.iterdir()) else None)
    if problem:
        raise ValueError(f"--data-dir {path} {problem}: give the directory holding MNIST/raw/ (torchvision's "
                         "layout; another image dataset's folder likewise)")


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
    rows = [(k, ("yes" if v else "no") if isinstance(v, bool) else "-" if v is None else f"{v:.6g}")
            for k, v in (out["metrics"] or {}).items() if v is None or isinstance(v, (int, float))]
    if rows:
        print(tabulate(rows, headers=["metric", "value"], tablefmt="github"))
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

        print(tabulate([(k, "-" if v is None else f"{v:.6g}") for k, v in out.items()], headers=["metric", "value"],
                       tablefmt="github"))
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


def cmd_evaluate(args) -> int:
    from ganbench.reevaluate import evaluate_store

    if not (args.results / "runs").is_dir():
        raise UsageError(f"no run records: {args.results / 'runs'} does not exist "
                         f"(run `ganbench run --results {args.results}` first)")
    try:
        if args.data_dir is not None:
            _check_data_dir(Path(args.data_dir))
        summary = evaluate_store(args.results, args.metrics, force=args.force, data_dir=args.data_dir,
                                 progress=not args.no_progress, warn=lambda m: print(f"ganbench: {m}", file=sys.stderr))
    except ValueError as e:  # another runner holds the results folder (store.StoreBusy), or bad input
        raise UsageError(str(e)) from None
    for line in summary.lines(args.metrics):
        print(line, file=sys.stderr)
    if not args.no_report:
        from ganbench.report import main_report

        try:
            print(f"report: {main_report(args.results)}", file=sys.stderr)
        except ValueError as e:
            raise UsageError(f"{e} (the records are updated; `ganbench report` rebuilds the report)") from None
    return 0


def cmd_sample(args) -> int:
    from ganbench.sampling import sample_run

    try:
        path = sample_run(args.results, args.run, args.n, args.out, label=args.label, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {path}", file=sys.stderr)
    return 0


COMMANDS = ("run", "report", "evaluate", "metrics", "sample", "score")


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
        commands = {"run": cmd_run, "report": cmd_report, "evaluate": cmd_evaluate, "metrics": cmd_metrics,
                    "sample": cmd_sample, "score": cmd_score}
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
