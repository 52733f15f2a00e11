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
