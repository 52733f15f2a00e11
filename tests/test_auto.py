"""`ganbench run --iters auto` (ganbench.auto): rounds of doubling budgets until a run settles (by
ganbench.convergence's rule), diverges or reaches the cap; one auto record per job, a copy of the
concrete record where it stopped. The state function is replaced where the test needs a given outcome:
tiny runs are too short to settle for real."""
import json
from dataclasses import replace

import pytest

from ganbench import auto, executors
from ganbench.cli import main
from ganbench.config import RunConfig, dataset_config, validate
from ganbench.driver import run_grid
from ganbench.store import current_records, is_record, load_records

TINY = dict(n_train=300, n_eval=200, hidden=16, depth=1)


def auto_jobs(start=20, cap=80, seeds=2):
    return [RunConfig(variant="vanilla", layout="ring", modes=4, seed=s, iters=start, auto_cap=cap, **TINY)
            for s in range(seeds)]


def read(out, run_id):
    return json.loads((out / "runs" / f"{run_id}.json").read_text())


def states(monkeypatch, rule):
    """Judge runs by ``rule(seed, iters)`` instead of their trajectories."""
    monkeypatch.setattr(auto, "run_state", lambda rec: rule(rec["config"]["seed"], rec["config"]["iters"]))


def test_a_run_that_settles_stops_there_and_its_record_is_the_concrete_one_under_its_own_id(tmp_path, monkeypatch):
    states(monkeypatch, lambda seed, iters: "settled" if iters >= 40 else "changing")
    jobs = auto_jobs()
    plain = replace(jobs[0], iters=30, auto_cap=None)  # an ordinary job of the same command
    counts = run_grid(jobs + [plain], tmp_path, progress=False)
    assert counts["auto"] == {"settled": 2, "diverged": 0, "cap": 0, "rounds": 2}
    assert counts["trained"] == 5 and counts["extended"] == 2  # 2 jobs x rounds 20, 40, and the plain one
    for job in jobs:
        rec = read(tmp_path, job.run_id)
        stop = auto.concrete(job, 1)
        assert rec["auto"] == {"start": 20, "cap": 80, "stopped_at": 40, "reason": "settled", "state": "settled",
                               "budgets": [20, 40], "run": stop.run_id}
        assert rec["id"] == job.run_id and rec["config"] == job.identity()["config"]
        assert rec["config"]["iters"] == 20 and rec["config"]["auto_cap"] == 80
        there = read(tmp_path, stop.run_id)
        for key in ("status", "metrics", "trajectory", "losses", "variant_params"):
            assert rec[key] == there[key], key
        assert rec["trajectory"]["step"][-1] == 40
        for suffix in (".pt", ".samples.npz"):  # the checkpoint and all the samples
            assert ((tmp_path / "runs" / f"{job.run_id}{suffix}").read_bytes()
                    == (tmp_path / "runs" / f"{stop.run_id}{suffix}").read_bytes())
        assert not (tmp_path / "runs" / f"{auto.concrete(job, 2).run_id}.json").exists()  # 80 never trained
    assert read(tmp_path, plain.run_id)["status"] == "ok"
    loaded = load_records(tmp_path)
    assert len(loaded) == 7 and len(current_records(loaded)) == 7  # 4 concrete, 2 auto, 1 plain


@pytest.mark.parametrize("state", ["changing", "untrained"])
def test_a_run_that_does_not_settle_trains_to_the_cap(state, tmp_path, monkeypatch):
    states(monkeypatch, lambda seed, iters: state)
    jobs = auto_jobs(start=20, cap=70, seeds=1)  # a cap off the doubling series is the last budget
    counts = run_grid(jobs, tmp_path, progress=False)
    assert counts["auto"] == {"settled": 0, "diverged": 0, "cap": 1, "rounds": 3}
    rec = read(tmp_path, jobs[0].run_id)
    assert rec["auto"]["reason"] == "cap" and rec["auto"]["state"] == state
    assert rec["auto"]["budgets"] == [20, 40, 70] and rec["auto"]["stopped_at"] == 70
    assert rec["metrics"] == read(tmp_path, auto.concrete(jobs[0], 2).run_id)["metrics"]


def test_a_diverged_run_stops_and_the_others_go_on(tmp_path, monkeypatch):
    states(monkeypatch, lambda seed, iters: "diverged" if seed == 0 else "changing")
    jobs = auto_jobs(start=20, cap=40)
    counts = run_grid(jobs, tmp_path, progress=False)
    assert counts["auto"] == {"settled": 0, "diverged": 1, "cap": 1, "rounds": 2}
    assert read(tmp_path, jobs[0].run_id)["auto"]["budgets"] == [20]
    assert read(tmp_path, jobs[1].run_id)["auto"]["budgets"] == [20, 40]


def test_an_interrupted_auto_run_goes_on_from_its_last_round_and_a_finished_one_trains_nothing(tmp_path, monkeypatch):
    states(monkeypatch, lambda seed, iters: "changing")
    jobs = auto_jobs(start=20, cap=80)
    real, calls = executors.ensemble_task, []

    def interrupted(group, *args):
        calls.append(group)
        if len(calls) == 2:  # round 2's ensemble
            raise KeyboardInterrupt
        return real(group, *args)

    monkeypatch.setattr(executors, "ensemble_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_grid(jobs, tmp_path, progress=False)
    assert {r["config"]["iters"] for r in load_records(tmp_path)} == {20}  # round 1 kept
    monkeypatch.setattr(executors, "ensemble_task", real)
    counts = run_grid(jobs, tmp_path, progress=False)
    assert counts["trained"] == 4 and counts["extended"] == 4  # rounds 40 and 80 only, each from the last
    assert counts["auto"]["cap"] == 2
    before = {j.run_id: read(tmp_path, j.run_id) for j in jobs}
    again = run_grid(jobs, tmp_path, progress=False)
    assert again["trained"] == 0 and again["skipped"] == 2 and again["auto"]["rounds"] == 0
    assert {j.run_id: read(tmp_path, j.run_id) for j in jobs} == before


def test_auto_configs_have_their_own_ids_and_every_other_id_is_unchanged():
    base = RunConfig(variant="vanilla", layout="ring", modes=8, seed=0)
    # ids of records made before auto_cap existed (results/ holds thousands of them)
    assert base.run_id == "5c1b91a9904eefca"
    # wgan-gp on mixtures changed its settings to gan_toy.py's (issue 25): its id changed with them
    assert RunConfig(variant="wgan-gp", layout="grid", modes=25, seed=3, iters=2000).run_id == "f79fc34ab0c9eda5"
    assert replace(base, precision="bf16").run_id == "19f7877a61cef167"
    assert "auto_cap" not in base.identity()["config"]
    ids = {base.run_id, replace(base, iters=1000).run_id, replace(base, iters=1000, auto_cap=16000).run_id,
           replace(base, iters=1000, auto_cap=8000).run_id, replace(base, iters=500, auto_cap=16000).run_id}
    assert len(ids) == 5
    assert auto.concrete(replace(base, iters=1000, auto_cap=16000), 2) == replace(base, iters=4000)


def test_auto_is_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="must be at least its start"):
        validate(RunConfig(variant="vanilla", layout="ring", modes=8, seed=0, iters=100, auto_cap=50))
    with pytest.raises(ValueError, match="mixture grids only"):
        validate(replace(dataset_config("vanilla", "iris", 0, iters=100), auto_cap=200))


def test_store_checks_the_auto_field(tmp_path, monkeypatch):
    states(monkeypatch, lambda seed, iters: "settled")
    job = auto_jobs(start=20, cap=40, seeds=1)[0]
    run_grid([job], tmp_path, progress=False)
    rec = read(tmp_path, job.run_id)
    assert is_record(rec)
    assert not is_record({**rec, "auto": {**rec["auto"], "reason": "bored"}})
    assert not is_record({**rec, "auto": {**rec["auto"], "stopped_at": "40"}})
    assert not is_record({**rec, "auto": {k: v for k, v in rec["auto"].items() if k != "budgets"}})


@pytest.mark.parametrize("args,expect", [
    (["--iters", "auto2"], "iters must be a whole number or auto, got 'auto2'"),
    (["--iters", "0"], "iters must be at least 1, got 0"),
    (["--iters", "auto", "--iters-start", "0"], "iters-start must be at least 1, got 0"),
    (["--iters", "auto", "--iters-cap", "x"], "iters-cap must be a whole number"),
    (["--iters", "auto", "--iters-start", "200", "--iters-cap", "100"],
     "--iters-cap (100) must be at least --iters-start (200)"),
    (["--iters", "auto", "--iters-start", "20000"], "--iters-cap (16,000) must be at least --iters-start (20,000)"),
    (["--iters-start", "100"], "--iters-start goes with --iters auto only"),
    (["--iters", "500", "--iters-cap", "1000"], "--iters-cap goes with --iters auto only"),
    (["--iters", "auto", "--preset", "tutorial"], "--iters auto goes with mixture grids only"),
    (["--iters", "auto", "--dataset", "iris"], "--iters auto goes with mixture grids only"),
])
def test_bad_auto_options_are_one_line_and_exit_code_2(args, expect, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *args, "--results", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ganbench: error: ") and expect in err
    assert not out.exists()


def test_iters_auto_through_the_cli(tmp_path, capsys):
    out = tmp_path / "auto"
    args = ["run", "--variants", "vanilla", "--modes", "4", "--seeds", "2", "--iters", "auto", "--iters-start", "20",
            "--iters-cap", "40", "--n-eval", "200", "--jobs", "1", "--no-progress", "--no-report",
            "--results", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "--iters auto: " in err and ("in 1 round(s)" in err or "in 2 round(s)" in err)
    recs = [r for r in load_records(out) if "auto" in r]
    assert len(recs) == 2 and all(r["config"]["auto_cap"] == 40 and r["config"]["iters"] == 20 for r in recs)
    assert all(r["auto"]["stopped_at"] == r["trajectory"]["step"][-1] for r in recs)
    assert main(args) == 0
    assert "0 trained (0 diverged), 2 already done" in capsys.readouterr().err


def test_the_report_hides_every_round_and_withholds_an_unfinished_auto_grid(tmp_path):
    """Issue 25: the runs of an auto grid that settle early finish first, so a report of the finished ones
    alone would be selected on the outcome; the rounds of every marked job are hidden, finished or not."""
    from ganbench.auto import concrete, mark_jobs
    from ganbench.report_sections import auto_round_ids

    jobs = [RunConfig(variant="vanilla", layout="ring", modes=8, seed=s, iters=100, auto_cap=400) for s in (0, 1)]
    mark_jobs(tmp_path, jobs)
    done = {**jobs[0].identity(), "id": jobs[0].run_id, "status": "ok",
            "auto": {"start": 100, "cap": 400, "stopped_at": 200, "budgets": [100, 200]}}
    rounds, unfinished = auto_round_ids([done], tmp_path)
    assert {concrete(j, r).run_id for j in jobs for r in range(3)} == rounds   # 100, 200, 400 of both jobs
    assert list(unfinished) == [jobs[1].run_id]
    assert auto_round_ids([done])[1] == {}       # without the markers only finished jobs are known
