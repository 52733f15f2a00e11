"""Executors: where ensembles run. Each takes the ensembles of a grid and a ``driver.Driver`` and calls
``driver.store(results)`` for each finished ensemble (in the driver's process, which alone writes the
store) or ``driver.fail(group, error, attempts)`` once an ensemble has failed ``MAX_ATTEMPTS`` times.

- ``run_serial``: in this process (``--jobs 1``).
- ``run_pool``: ``jobs`` worker processes with one thread each (see ``ensemble_task``), each its own one-process
  executor, so that a worker that dies (killed, out of memory) costs only its own ensemble an
  attempt; a worker is kept for the next ensemble (start-up is paid once) and replaced when it dies.
- ``run_ray``: one Ray task per ensemble (1 CPU, and 1 GPU where the run uses CUDA), retried by Ray
  itself (``max_retries``, ``retry_exceptions``); a local Ray instance unless given an address.

``GANBENCH_FAULT`` injects faults for the reliability tests (tests/test_faults.py), never set otherwise:
``kill-once:<marker>`` (the first ensemble to start SIGKILLs its own process), ``raise-once:<marker>``
(the first one raises), ``raise:<variant>`` (every ensemble of that variant raises); the marker file
is created exclusively, so "once" holds across processes and retries.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Sequence

from ganbench.config import RunConfig

MAX_ATTEMPTS = 3  # tries per ensemble (a raised error or a dead worker) before its runs are recorded failed


class WorkerStartError(RuntimeError):
    """Worker processes die before they can take an ensemble (``MAX_ATTEMPTS`` starts in a row): the
    environment's fault, not the runs', so the grid stops and no run is recorded as failed."""


def one_line(error: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


class InjectedFault(RuntimeError):
    """Raised by GANBENCH_FAULT's raise kinds."""


FAULT_ENV = "GANBENCH_FAULT"  # fault injection for the reliability tests; local workers and a local Ray inherit it


def fault_point(group: Sequence[RunConfig]) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    kind, _, arg = spec.partition(":")
    if kind == "raise" and group[0].variant == arg:
        raise InjectedFault(f"injected failure for {arg}")
    if kind in ("kill-once", "raise-once"):
        try:
            os.close(os.open(arg, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        if kind == "kill-once":
            os.kill(os.getpid(), signal.SIGKILL)
        raise InjectedFault("injected one-off failure")


def ensemble_task(group: Sequence[RunConfig], device: str | None, data_dir: str | None):
    """One ensemble, trained and evaluated: its (record, files) pairs."""
    # imported where the work is done: the driver, which only plans and writes, never loads
    # scikit-learn and scipy (its workers start sooner)
    from threadpoolctl import threadpool_limits

    from ganbench.ensemble_records import evaluate_ensemble  # loads numpy's, scipy's and scikit-learn's pools
    from ganbench.nets import one_thread  # loads torch's

    fault_point(group)
    # One thread for torch, BLAS and OpenMP wherever an ensemble runs: workers must not oversubscribe
    # the cores, and a record must not depend on the core count (FID's last digits, t-SNE's layout).
    # threadpoolctl limits the loaded libraries; one_thread covers torch's own setting (MKL).
    with one_thread(), threadpool_limits(limits=1):
        return evaluate_ensemble(group, device, data_dir)


def run_serial(groups, driver, device, data_dir) -> None:
    for g in groups:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                results = ensemble_task(g, device, data_dir)
            except Exception as e:  # noqa: BLE001 - any error of one ensemble must not stop the grid
                if driver.failed_attempt(g, one_line(e), attempt):
                    continue
                break
            driver.store(results)
            break


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the driver dies, so a killed run leaves no orphans."""
    if sys.platform.startswith("linux"):
        import ctypes
        import multiprocessing

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        parent = multiprocessing.parent_process()
        if parent is not None and os.getppid() != parent.pid:  # the driver died before the prctl
            os._exit(1)


@contextmanager
def _sigint_ignored():
    """Ignore Ctrl-C while a worker is spawned: a process started with SIGINT ignored keeps ignoring
    it (Python installs its KeyboardInterrupt handler only where SIGINT is at its default), so a
    Ctrl-C reaches the driver alone, which stops the workers, instead of printing a traceback from
    every worker still importing torch."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _worker_init() -> None:
    _die_with_parent()  # first: the driver may be killed while torch is still importing
    import torch

    torch.set_num_threads(1)


def _mp_context():
    import multiprocessing

    # Workers start from a fresh interpreter: forking a process that already ran torch is unsafe.
    return multiprocessing.get_context("spawn")


def _describe_error(e: BaseException) -> str:
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(e, BrokenProcessPool):
        return "its worker process died (killed, out of memory or crashed)"
    return one_line(e)


def _new_worker() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, initializer=_worker_init, mp_context=_mp_context())


def _started() -> bool:
    """A new worker's first task: it returns once the worker has started (spawned, imported, set up),
    so that a worker dying later is told apart from one that never started."""
    return True


START_FAILED = ("worker processes could not start ({n} in a row; the error printed above says why: a broken "
                "install, or, for run_grid called from Python, a script a worker cannot re-import: call it from a "
                "file, under `if __name__ == \"__main__\":`, not from stdin). Finished runs keep their records; "
                "no failed record was written for the others, so the same command continues once this is fixed.")


def _stop_workers(executors) -> None:
    """Stop these one-process executors now: what they were training is lost either way."""
    for ex in executors:
        for proc in list(getattr(ex, "_processes", {}).values()):
            proc.terminate()
        ex.shutdown(wait=True, cancel_futures=True)


def run_pool(groups, driver, jobs: int, device, data_dir) -> None:
    """``jobs`` worker processes, each a one-process executor (so that a worker that dies breaks only
    its own ensemble), kept for the next ensemble when they finish one: a worker's start-up (torch,
    scikit-learn, scipy) is paid once per worker, not once
    per ensemble. A worker that died is replaced by a fresh one. Nothing in a worker carries over
    from one ensemble to the next (every random stream is seeded from the run's config), so a
    record is the same whichever worker trained it (tests/test_faults.py checks)."""
    from concurrent.futures.process import BrokenProcessPool

    queue = deque((g, 1) for g in groups)
    running: dict = {}  # future -> (group, attempt, its worker, the worker's _started future if new)
    idle: list[ProcessPoolExecutor] = []  # started workers waiting for an ensemble
    start_failures = 0  # new workers in a row that died before they started
    try:
        while queue or running:
            while queue and len(running) < jobs:
                g, attempt = queue.popleft()
                with _sigint_ignored():  # a new worker is spawned at its first submit and inherits it
                    future = None
                    while idle and future is None:
                        ex, started = idle.pop(), None
                        try:
                            future = ex.submit(ensemble_task, g, device, data_dir)
                        except BrokenProcessPool:  # it died while idle (killed, OOM): another one then
                            ex.shutdown(wait=False)
                    if future is None:
                        ex = _new_worker()
                        started = ex.submit(_started)
                        future = ex.submit(ensemble_task, g, device, data_dir)
                    running[future] = (g, attempt, ex, started)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                g, attempt, ex, started = running.pop(f)
                try:
                    results = f.result()
                except Exception as e:  # noqa: BLE001 - retried, then recorded; the grid goes on
                    if isinstance(e, BrokenProcessPool):  # the worker died: the next ensemble gets a new one
                        ex.shutdown(wait=False)
                        if started is not None and started.exception() is not None:
                            # It never started (a script spawn cannot re-import, a broken install): not
                            # this ensemble's fault, so no attempt of it is spent.
                            start_failures += 1
                            if start_failures >= MAX_ATTEMPTS:
                                raise WorkerStartError(START_FAILED.format(n=start_failures)) from None
                            driver.note("a worker process died before it started; starting another")
                            queue.appendleft((g, attempt))
                            continue
                    else:
                        idle.append(ex)
                    start_failures = 0
                    if driver.failed_attempt(g, _describe_error(e), attempt):
                        queue.append((g, attempt + 1))
                    continue
                start_failures = 0
                idle.append(ex)
                driver.store(results)
    finally:
        # Done, or interrupted (Ctrl-C, kill): stop the workers now.
        _stop_workers([ex for _, _, ex, _ in running.values()] + idle)


# --- Ray --------------------------------------------------------------------------------------------

def import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs Ray, an optional extra: pip install 'ganbench[ray]'") from None
    return ray


def _ray_task(group, device, data_dir):
    import torch

    torch.set_num_threads(1)
    return ensemble_task(group, device, data_dir)


def _ray_error(e: BaseException) -> str:
    cause = getattr(e, "cause", None)  # RayTaskError carries the task's own exception
    return one_line(cause) if isinstance(cause, BaseException) else one_line(e)


def run_ray(groups, driver, jobs: int, device, data_dir, address) -> None:
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        options = {"include_dashboard": False, "log_to_driver": False}
        ray.init(address=address, **options) if address else ray.init(num_cpus=jobs, **options)
    try:
        wants_gpu = (device or "").startswith("cuda") or (device is None and ray.cluster_resources().get("GPU", 0) >= 1)
        # Ray's workers do not inherit the environment: a fault under test goes with the task
        fault = {FAULT_ENV: os.environ[FAULT_ENV]} if os.environ.get(FAULT_ENV) else {}
        task = ray.remote(_ray_task).options(num_cpus=1, num_gpus=1 if wants_gpu else 0,
                                              max_retries=MAX_ATTEMPTS - 1, retry_exceptions=True,
                                              **({"runtime_env": {"env_vars": fault}} if fault else {}))
        refs = {task.remote(g, device, data_dir): g for g in groups}
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    g = refs.pop(ref)
                    try:
                        results = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        driver.fail(g, _ray_error(e), MAX_ATTEMPTS)
                        continue
                    driver.store(results)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)
    finally:
        if started:
            ray.shutdown()
