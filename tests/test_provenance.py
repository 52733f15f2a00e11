"""Provenance: every record says what made it (ganbench, Python, torch, numpy, scikit-learn) and on what
machine (CPU model, torch's ATen CPU capability); none of it enters a run id, and records made before
the machine was recorded stay valid."""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import sklearn
import torch

import ganbench
from ganbench import ensemble_records, store
from ganbench.config import RunConfig
from ganbench.driver import run_grid
from ganbench.machine import cpu_name
from ganbench.store import is_record, load_records

TINY = dict(iters=3, n_train=300, n_eval=200, hidden=16, depth=1)
RESULTS = Path(__file__).resolve().parents[1] / "results" / "runs"


def test_a_record_stores_the_versions_and_the_machine_it_was_made_on():
    cfgs = [RunConfig(variant="vanilla", layout="ring", modes=4, seed=s, **TINY) for s in (0, 1)]
    rec = ensemble_records.run_ensemble(cfgs, device="cpu")[0]
    v = rec["versions"]
    assert v["ganbench"] == ganbench.__version__
    assert v["python"] == platform.python_version()
    assert v["torch"] == str(torch.__version__) and v["numpy"] == np.__version__
    assert v["sklearn"] == sklearn.__version__
    assert v["machine"] == {"cpu": cpu_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    assert v["machine"]["cpu"] and v["machine"]["cpu_capability"]
    assert is_record(rec) and rec["id"] == cfgs[0].run_id  # the id hashes the config only
    old = {**rec, "versions": {k: x for k, x in v.items() if k != "machine"}}  # a record made before
    assert is_record(old)
    assert is_record(json.loads(next(RESULTS.glob("*.json")).read_text()))  # and the committed ones


def test_the_recorded_cpu_capability_is_the_one_torch_used():
    """ATEN_CPU_CAPABILITY lowers the kernels torch dispatches to (and their rounding): the record says so."""
    code = "from ganbench.store import versions; print(versions()['machine']['cpu_capability'])"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "DEFAULT"


def test_an_extended_record_carries_the_versions_of_the_run_that_extended_it(tmp_path):
    """Extension continues the base's training state but is made now: its versions are this process's,
    not copied from the base record."""
    def grid(iters):
        return [RunConfig(variant="vanilla", layout="ring", modes=4, seed=0, **{**TINY, "iters": iters})]

    run_grid(grid(3), tmp_path, device="cpu", progress=False)
    base = next((tmp_path / "runs").glob("*.json"))
    rec = json.loads(base.read_text())
    rec["versions"] = {"ganbench": "0.0.1", "torch": "0.0"}  # as if an older ganbench had made it
    base.write_text(json.dumps(rec))
    assert run_grid(grid(5), tmp_path, device="cpu", progress=False)["extended"] == 1
    new = next(r for r in load_records(tmp_path) if r["config"]["iters"] == 5)
    assert new["extended_from"]["id"] == rec["id"]
    assert new["versions"] == store.versions("cpu")


def test_the_report_intro_counts_versions_cpus_and_seeds_over_all_its_records():
    """Not the first record's versions and not "5 seeds per cell" where image rows have 2 (no std: NaN)."""
    import pandas as pd

    from ganbench.report import _intro

    def rec(layout, seed, gb, cpu=None):
        v = {"ganbench": gb, "torch": "2.14.1"} | ({"machine": {"cpu": cpu}} if cpu else {})
        return {"config": {"layout": layout, "batch_size": 64}, "versions": v}

    records = ([rec("ring", s, "0.2.0") for s in range(5)]
               + [rec("mnist", s, "0.3.1", "AMD EPYC 9R14") for s in range(2)])
    df = pd.DataFrame([{"variant": "vanilla", "layout": r["config"]["layout"], "modes": 10, "iters": 1, "seed": s,
                        "std": 0.01 if r["config"]["layout"] == "ring" else None, "precision": "fp32",
                        "train_s": 1.0} for r, s in zip(records, [0, 1, 2, 3, 4, 0, 1], strict=True)])
    line = _intro(df, records)[0]
    assert "2–5 seeds per cell" in line
    assert "ganbench 0.2.0 (5 runs), 0.3.1 (2 runs); torch 2.14.1;" in line
    assert "CPU not recorded (5 runs), AMD EPYC 9R14 (2 runs)." in line


def test_the_record_check_takes_the_configs_types_from_its_type_hints():
    """A new RunConfig field of any type is checked as declared (a float field once made
    `import ganbench.store` fail: the types were a hand-kept table of annotation strings)."""
    import typing
    from dataclasses import dataclass, fields

    from ganbench.config import RunConfig
    from ganbench.store import _CONFIG_TYPES, json_types

    @dataclass
    class Later:
        temperature: float = 1.0
        verbose: bool = False
        note: str | None = None

    hints = typing.get_type_hints(Later)
    assert json_types(hints["temperature"]) == (float, int)  # JSON writes 2.0 as 2
    assert json_types(hints["verbose"]) == (bool,) and json_types(hints["note"]) == (str, type(None))
    assert set(_CONFIG_TYPES) == {f.name for f in fields(RunConfig)}


def test_every_committed_record_keeps_its_id():
    """Refactors of the variants, hyperparameters or config must not change a committed run's id (its
    record would be orphaned and the run retrained): every record's config hashes to its own name."""
    from ganbench.config import RunConfig

    records = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    assert len(records) > 1000
    wrong = [r["id"] for r in records if RunConfig(**r["config"]).run_id != r["id"]]
    assert not wrong
