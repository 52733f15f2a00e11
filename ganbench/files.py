"""Atomic file writes (temporary file, fsync, rename): readers see the old file or the whole new one.
The lowest layer of the package, so that whatever writes a file (the store, the evaluator's cache)
can use them without importing upward."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator

# The files written (or confirmed current) while ``track_writes`` is active: the report deletes what it
# did not write, so that no table or figure outlives the records behind it.
_written: ContextVar[set | None] = ContextVar("ganbench_written", default=None)


@contextmanager
def track_writes() -> Iterator[set]:
    """Collect the resolved paths of every file written through this module (and of those marked with
    ``mark_written``) inside the block."""
    token = _written.set(set())
    try:
        yield _written.get()
    finally:
        _written.reset(token)


def mark_written(path: Path) -> None:
    """Count ``path`` as written (a figure found current and kept)."""
    seen = _written.get()
    if seen is not None:
        seen.add(Path(path).resolve())


def write_atomic(path: Path, write: Callable, binary: bool = False) -> None:
    """Call ``write(file)`` on a temporary file in the same directory, fsync, then rename it over
    ``path``: readers see the old file or the whole new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        mark_written(path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.filename is None:  # a full disk mid-write names no file: name the one being written
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda f: f.write(text))


def write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")


def check_npy_header(path: Path, what: str) -> None:
    """Refuse an .npy whose header is not a numeric array the file holds and this machine can load,
    before loading it, so that a lying header cannot allocate the memory. ValueError names what is
    wrong."""
    from numpy.lib import format as npy

    from ganbench.machine import memory_bytes

    try:
        with open(path, "rb") as f:
            version = npy.read_magic(f)
            shape, _, dtype = (npy.read_array_header_1_0(f) if version == (1, 0) else npy.read_array_header_2_0(f))
            offset = f.tell()
        if not all(type(n) is int and n >= 0 for n in shape):  # (True, 4), (2.5,): numpy's own errors read badly
            raise ValueError(f"shape {shape}")
    except (ValueError, EOFError, TypeError, OverflowError) as e:  # not an .npy (an .npz is a zip: below)
        if path.read_bytes()[:2] == b"PK":
            raise ValueError(f"{what} file {path} is an .npz archive, not an .npy array") from None
        raise ValueError(f"{what} file {path} is not a readable .npy array ({e.__class__.__name__})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ValueError(f"{what} file {path} holds {dtype} values: give an array of real numbers (float or int)")
    n = 1
    for size in shape:
        n *= size
    need, have = n * dtype.itemsize, path.stat().st_size - offset
    if need != have:  # fewer: numpy would load the header's rows and drop the rest without a word
        raise ValueError(f"{what} file {path} is {'truncated' if need > have else 'longer than its header says'} "
                         f"(or its header is wrong): the header says {shape} ({need:,} bytes), the file holds {have:,}")
    memory = memory_bytes()
    if memory and n * 8 > memory // 2:  # scored as float64
        raise ValueError(f"{what} file {path} holds {n:,} values ({n * 8 / 2 ** 30:,.1f} GiB as float64), more than "
                         f"half this machine's memory ({memory / 2 ** 30:,.1f} GiB): give a subset of rows")
