"""Compatibility: the names ``ganbench.runner`` held before it was split, re-exported for code written
against it. Nothing inside ganbench imports this module; new code imports from where a name lives:

- ``ganbench.config``: RunConfig, validate, plan_grid, dataset_config (a job and its id)
- ``ganbench.store``: the record store (reading, checking, the lock, corrupt files, failed records)
- ``ganbench.files``: atomic writes
- ``ganbench.evaluation``: one ensemble trained, evaluated and made into records
- ``ganbench.planner``: ensembles of jobs, and the finished runs a larger budget continues
- ``ganbench.executors``: where ensembles run (MAX_ATTEMPTS, one_line)
- ``ganbench.driver``: Driver and run_grid, the only writer of the store
- ``ganbench.sampling``: sample_run, drawing from a trained run
"""
from __future__ import annotations

from ganbench.config import DEFAULT_ITERS, MAX_STD, RECORD_SCHEMA, RunConfig, dataset_config, plan_grid, validate
from ganbench.driver import EXECUTORS, Driver, run_grid
from ganbench.evaluation import (
    EXPLODED,
    KID_SUBSETS,
    N_SCATTER,
    TRAJECTORY_METRICS,
    evaluate_ensemble,
    mixture_metrics,
    run_ensemble,
    sample_divergence,
    trajectory_steps,
)
from ganbench.executors import MAX_ATTEMPTS, one_line
from ganbench.files import write_atomic, write_json_atomic, write_text_atomic
from ganbench.planner import MAX_ENSEMBLE, MAX_ENSEMBLE_DATA, Group, ensembles, find_bases
from ganbench.sampling import MAX_GRID, find_record, sample_run
from ganbench.store import (
    StoreBusy,
    check_output_file,
    check_writable,
    current_records,
    failed_record,
    finished_ids,
    is_record,
    load_records,
    record_problem,
    runs_dir,
    set_aside_corrupt,
    store_lock,
    versions,
)

__all__ = ["DEFAULT_ITERS", "EXECUTORS", "EXPLODED", "KID_SUBSETS", "MAX_ATTEMPTS", "MAX_ENSEMBLE", "MAX_ENSEMBLE_DATA",
           "MAX_GRID", "MAX_STD", "N_SCATTER", "RECORD_SCHEMA", "TRAJECTORY_METRICS", "Driver", "Group", "RunConfig",
           "StoreBusy", "check_output_file", "check_writable", "current_records", "dataset_config", "ensembles",
           "evaluate_ensemble", "failed_record", "find_bases", "find_record", "finished_ids", "is_record",
           "load_records", "mixture_metrics", "one_line", "plan_grid", "record_problem", "run_ensemble", "run_grid",
           "runs_dir", "sample_divergence", "sample_run", "set_aside_corrupt", "store_lock", "trajectory_steps",
           "validate", "versions", "write_atomic", "write_json_atomic", "write_text_atomic"]
