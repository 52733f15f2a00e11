"""The record store: ``<out>/runs/<id>.json`` per finished job (``id``: ``RunConfig.run_id``), with its
checkpoint ``<id>.pt`` beside it. Reading and checking records, the store's lock, atomic writes
(``ganbench.files``), corrupt files set aside, failed records. Only the driver writes to the store,
under the lock, atomically, as ensembles finish: an interrupt loses only unfinished work, a re-run
skips what is done, and a corrupt record is set aside and recomputed. Free of torch."""
from __future__ import annotations

import json
import math
import os
import platform
import typing
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ganbench import __version__
from ganbench.config import RECORD_SCHEMA, RunConfig, size_problem, value_problem
from ganbench.datasets import DATASETS
from ganbench.files import write_atomic, write_json_atomic, write_text_atomic
from ganbench.presets import BUDGET_ORDER
from ganbench.variants import REGISTRY

__all__ = ["StoreBusy", "check_output_file", "check_writable", "current_records", "failed_record", "finished_ids",
           "is_record", "load_records", "record_problem", "runs_dir", "set_aside_corrupt", "store_lock",
           "versions", "write_atomic", "write_json_atomic", "write_text_atomic"]


def check_writable(out: Path, name: str | None = None) -> None:
    """ValueError unless ``out`` is (or can be created as) a writable directory; ``name`` says what it
    is in the message (default "output directory <out>"). Creates nothing."""
    name = name or f"output directory {out}"
    p = Path(out).absolute()
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{name} cannot be created: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{name} is not writable (no write permission on {probe})")


def check_output_file(path: Path) -> None:
    """ValueError unless a file can be written at ``path`` (its folder may still have to be made)."""
    if Path(path).is_dir():
        raise ValueError(f"{path} is a directory; give a file name")
    check_writable(Path(path).parent, f"the folder of {path}")


def runs_dir(out: Path) -> Path:
    return Path(out) / "runs"


_NUMBER, _NONE = (float, int), type(None)
_JSON_NAMES = {str: "a string", int: "a whole number", float: "a number", dict: "an object", list: "a list",
               _NONE: "null"}
# What the report, the reproduction report and ``sample_run`` read from a record; the config's types
# are RunConfig's (its type hints).
_RECORD_TYPES = {"id": (str,), "status": (str,), "config": (dict,)}
_RECORD_TYPES_OPTIONAL = {"metrics": (dict, _NONE), "trajectory": (dict,), "losses": (dict,), "timings": (dict,),
                          "evaluation": (dict,), "versions": (dict,), "variant_params": (dict,), "samples": (list,),
                          "centers": (list,), "diverged_step": (int, _NONE), "auto": (dict,),
                          "metric_versions": (dict,), "evaluated": (dict,)}
_CONFIG_REQUIRED = ("variant", "layout", "modes", "seed", "iters", "std")


def json_types(hint) -> tuple[type, ...]:
    """The JSON value types a field annotated ``hint`` may hold in a record: ``float | None`` ->
    (float, int, NoneType) (JSON writes 2.0 as 2), ``str`` -> (str,)."""
    out: list[type] = []
    for t in typing.get_args(hint) or (hint,):
        out += list(_NUMBER) if t is float else [t]
    return tuple(dict.fromkeys(out))


# from RunConfig's type hints, so that a new field of any type is checked as it is declared
_CONFIG_TYPES = {name: json_types(hint) for name, hint in typing.get_type_hints(RunConfig).items()}
# An `--iters auto` record's ``auto`` (ganbench.auto.auto_record): where and why it stopped.
_AUTO_TYPES = {"start": (int,), "cap": (int,), "stopped_at": (int,), "reason": (str,), "state": (str,),
               "budgets": (list,), "run": (str,)}
AUTO_REASONS = ("settled", "diverged", "cap")
_METRIC_LISTS = ("mode_counts", "class_histogram")  # the metrics that are lists of numbers


def _shown(value) -> str:
    return json.dumps(value)[:40]


def _type_problem(obj: dict, types: dict, required, where: str = "") -> str | None:
    """What is wrong with ``obj``'s fields: a ``required`` key missing, or a value not of its ``types``."""
    for key, allowed in types.items():
        if key not in obj:
            if key in required:
                return f"{where}{key} is missing"
        elif isinstance(obj[key], bool) or not isinstance(obj[key], allowed):
            names = [_JSON_NAMES[t] for t in allowed if not (t is int and float in allowed)]
            return f"{where}{key} is {_shown(obj[key])}, not {' or '.join(names)}"
    return None


# A parsed JSON value's type is exactly one of these (bool is not a number here); checked by type, not
# isinstance, because records hold thousands of numbers and every report reads every record.
_NUMBER_TYPES = frozenset({float, int, _NONE})


def _number(v) -> bool:
    # finite: JSON's NaN / Infinity (accepted by Python's parser, never written by ganbench) would move means
    return type(v) in _NUMBER_TYPES and (v is None or math.isfinite(v))


def _numbers(v) -> bool:
    return type(v) is list and all(type(x) in _NUMBER_TYPES for x in v)


MAX_RECORD_MODES = 100_000  # more modes than any dataset has (Stacked MNIST: 1,000; mixtures: 64)


def _content_problem(rec: dict) -> str | None:
    """What is wrong inside a record's objects with what the reports compute with, or None."""
    for key in ("metrics", "timings", "evaluation", "trajectory", "losses"):
        for k, v in (rec.get(key) or {}).items():
            if key in ("trajectory", "losses") or k in _METRIC_LISTS:
                ok, kind = _numbers(v), "a list of numbers"
            else:  # a number, a flag (metrics.untrained) or a name (timings.device, evaluation.features)
                named = k in ("device", "features") and isinstance(v, str)
                ok, kind = _number(v) or isinstance(v, bool) or named, "a number"
            if not ok:
                return f"{key}.{k} is {_shown(v)}, not {kind}"
    modes = rec["config"].get("modes")
    if type(modes) is int and not 1 <= modes <= MAX_RECORD_MODES:
        return f"config.modes is {modes}, not between 1 and {MAX_RECORD_MODES:,}"
    sizes = size_problem(rec["config"]) or value_problem(rec["config"])
    if sizes:
        return f"config.{sizes}"
    hq = (rec.get("metrics") or {}).get("hq_fraction")
    if _number(hq) and hq is not None and not 0 <= hq <= 1:
        return f"metrics.hq_fraction is {hq}, not a fraction between 0 and 1"
    t = rec.get("trajectory")
    if t and not ({"step", "modes"} <= set(t) and {"hq_fraction", "confident_fraction"} & set(t)
                  and len({len(v) for v in t.values()}) == 1):
        return "trajectory needs step, modes and hq_fraction (or confident_fraction) lists of one length"
    layout = rec["config"]["layout"]
    if layout not in DATASETS and rec["status"] != "failed" and "centers" not in rec:
        return "centers is missing (a finished mixture run's true centres)"
    width = DATASETS[layout].data_dim if layout in DATASETS else 2
    for key in ("samples", "centers"):
        if not all(_numbers(p) and len(p) == width for p in rec.get(key) or []):
            return f"{key} are not points of {width} numbers"
    auto = rec.get("auto")
    if auto is not None:
        problem = _type_problem(auto, _AUTO_TYPES, _AUTO_TYPES, "auto.")
        if problem:
            return problem
        if auto["reason"] not in AUTO_REASONS:
            return f"auto.reason is {_shown(auto['reason'])}, not one of {', '.join(AUTO_REASONS)}"
        if not (all(type(b) is int for b in auto["budgets"]) and auto["stopped_at"] in auto["budgets"]):
            return "auto.budgets must be whole numbers that include auto.stopped_at"
        if not isinstance(rec["config"].get("auto_cap"), int):
            return "auto is given but config.auto_cap is not"
    budget = rec["config"].get("budget")
    if "preset" in rec["config"] and budget not in BUDGET_ORDER:
        return f"config.budget is {_shown(budget)}, not one of {', '.join(BUDGET_ORDER)}"
    return None


def record_problem(obj) -> str | None:
    """What makes ``obj`` no ganbench run record (the schema tag, an id, a status and a config with
    the grid's keys, each field of the kind the reports read), or None."""
    if not (isinstance(obj, dict) and obj.get("schema") == RECORD_SCHEMA):
        return "not a ganbench run record"
    problem = (_type_problem(obj, _RECORD_TYPES, _RECORD_TYPES)
               or _type_problem(obj, _RECORD_TYPES_OPTIONAL, ())
               or _type_problem(obj["config"], _CONFIG_TYPES, _CONFIG_REQUIRED, "config.")
               or _content_problem(obj))
    return problem and f"not a valid run record: {problem}"


def is_record(obj) -> bool:
    """A valid ganbench run record (see record_problem)."""
    return record_problem(obj) is None


def _read_record(path: Path) -> tuple[dict | None, str | None]:
    """(record, None) for a valid run record, else (None, what is wrong with the file)."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"not valid JSON ({e.__class__.__name__})"
    except RecursionError:  # JSON nested deeper than Python's parser goes
        return None, "not valid JSON (nested too deeply)"
    problem = record_problem(obj)
    return (None, problem) if problem else (obj, None)


N_SCATTER = 500  # generated points the report's scatter plots and histograms draw (a record's ``samples``)


def scatter_points(x: np.ndarray) -> list:
    """The first ``N_SCATTER`` generated points, to 4 decimals, as JSON lists (None where not finite).
    Rounded in float64, so that the JSON holds ``0.978`` and not float32's nearest value written out
    (``0.9779999852180481``): a third of the bytes for the same figure."""
    x = np.round(np.asarray(x[:N_SCATTER], dtype=np.float64), 4)
    return [[float(v) if math.isfinite(v) else None for v in row] for row in x]


def kept_samples(runs: Path, run_id: str) -> np.ndarray | None:
    """All evaluation samples a mixture or table run keeps in ``<id>.samples.npz``, or None where it
    keeps none; ValueError for a torn or foreign file (zipfile, numpy and tokenize each raise their own)."""
    path = runs / f"{run_id}.samples.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            return z["samples"] if "samples" in z.files else None
    except Exception as e:  # noqa: BLE001 - see the docstring
        raise ValueError(f"{path}: unreadable ({e.__class__.__name__})") from None


def record_config(rec: dict) -> RunConfig:
    """A record's RunConfig (keys RunConfig does not know, such as a newer version's, left out)."""
    return RunConfig(**{k: v for k, v in rec["config"].items() if k in RunConfig.__dataclass_fields__})


def with_scatter(rec: dict, runs: Path, warn: Callable[[str], None] | None = None) -> dict:
    """A mixture or table record as the report reads it: its ``samples`` (the first ``N_SCATTER``) from
    its ``<id>.samples.npz``, where all its evaluation samples are kept (records made before that hold
    the ``N_SCATTER`` themselves). A torn or foreign file is named through ``warn``; the record goes
    without its points (figures and the collapsed-to-a-point check)."""
    if "samples" not in rec and rec["config"].get("layout") not in _IMAGE_LAYOUTS:
        try:
            x = kept_samples(runs, rec["id"])
        except ValueError as e:
            x = None
            if warn:
                warn(f"{e}; its run's scatter points are left out")
        if x is not None:
            rec["samples"] = scatter_points(x)
    return rec


_IMAGE_LAYOUTS = {name for name, d in DATASETS.items() if d.image is not None}


def load_records(out: Path, warn: Callable[[str], None] | None = None) -> list[dict]:
    """Every valid record in ``<out>/runs`` (with its scatter points, ``with_scatter``); a corrupt or
    foreign file is reported through ``warn`` by name and skipped."""
    records = []
    d = runs_dir(out)
    if not d.is_dir():
        return records
    for path in sorted(d.glob("*.json")):
        obj, problem = _read_record(path)
        if problem is not None:
            if warn:
                warn(f"skipping {path}: {problem}")
            continue
        records.append(with_scatter(obj, d, warn))
    return records


def current_records(records: list[dict], warn: Callable[[str], None] | None = None) -> list[dict]:
    """The records whose id is still the id of their config: a record made before a variant's
    hyperparameters changed (cond-wgan-gp's fake labels, say) describes another experiment and is
    left out of tables, with one line through ``warn`` saying how many."""
    keep, stale, unknown = [], 0, {}
    for r in records:
        variant = r["config"].get("variant")
        if variant not in REGISTRY:  # a plugin's variant whose package is not installed here
            unknown[variant] = unknown.get(variant, 0) + 1
            continue
        try:
            current = record_config(r).run_id == r["id"]
        except (TypeError, ValueError, KeyError):
            current = False
        if current:
            keep.append(r)
        else:
            stale += 1
    if stale and warn:
        warn(f"left out {stale} record(s) made under earlier hyperparameters of their variant "
             "(their id is no longer their config's); re-run to replace them")
    for variant, n in unknown.items():
        if warn:
            warn(f"left out {n} record(s) of variant {variant!r}, which is not installed here (a plugin's?)")
    return keep


def finished_ids(out: Path) -> set[str]:
    """Ids of the runs that need no training: valid records of status ok or diverged (a failed run
    is tried again)."""
    return {rec["id"] for rec in load_records(out) if rec["status"] != "failed"}


def versions(device=None) -> dict:
    """What made a record: the versions of ganbench (as this process loaded it: a long run's workers keep
    the code, and the version, they imported when they started), Python, torch, numpy and scikit-learn,
    and under ``machine`` the CPU, torch's ATen CPU capability and (on ``device`` cuda) the GPU
    (``ganbench.machine.describe``). Records made before ``machine`` was added lack it; nothing here
    enters a run id (``RunConfig.identity`` hashes only the config). Imports torch."""
    import sklearn
    import torch

    from ganbench.machine import describe

    # plain str: torch's version is a TorchVersion, whose unpickling would import torch in the driver
    return {"ganbench": __version__, "python": platform.python_version(), "torch": str(torch.__version__),
            "numpy": np.__version__, "sklearn": sklearn.__version__, "machine": describe(device)}


class StoreBusy(ValueError):
    """Another runner holds the output directory's lock."""


@contextmanager
def store_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>/runs/.lock`` (an flock, released by the kernel however the holder ends) for the
    whole run, so two runners can never write the same record; a second one gets StoreBusy."""
    import fcntl

    d = runs_dir(out)
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreBusy(f"another ganbench run ({holder}) is writing to {d}; wait for it to finish "
                        "or give this one another --results") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {platform.node()}".encode())
        yield
    finally:
        os.close(fd)


def set_aside_corrupt(out: Path, warn: Callable[[str], None]) -> list[Path]:
    """Move every unreadable or foreign ``*.json`` in ``<out>/runs`` to ``<out>/runs/corrupt/`` (kept,
    never deleted), reporting each by name, so that its run is trained again."""
    moved = []
    for path in sorted(runs_dir(out).glob("*.json")):
        _, problem = _read_record(path)
        if problem is None:
            continue
        dest = runs_dir(out) / "corrupt" / path.name
        dest.parent.mkdir(exist_ok=True)
        n = 1
        while dest.exists():
            dest, n = dest.with_name(f"{path.stem}.{n}.json"), n + 1
        os.replace(path, dest)
        moved.append(dest)
        warn(f"set aside {path} ({problem}) as {dest}; its run will be trained again")
    return moved


def failed_record(cfg: RunConfig, error: str, attempts: int) -> dict:
    """The record of a job whose ensemble failed every attempt: kept so the report can say so, and
    retried by the next run (``finished_ids`` leaves it out)."""
    return {"schema": RECORD_SCHEMA, "id": cfg.run_id, **cfg.identity(), "status": "failed",
            "error": error, "attempts": attempts, "metrics": None, "versions": versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


