"""The runner: one atomic record per job, identical metrics for the same config, resume after an
interrupt, corrupt files skipped by name."""
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ganbench import ensemble_records, executors, planner, store
from ganbench.config import RunConfig, plan_grid, validate
from ganbench.driver import run_grid
from ganbench.ensemble_records import N_SCATTER
from ganbench.report import build_report
from ganbench.store import load_records

# Tiny jobs: the machinery is what is under test here, not the GANs.
TINY = dict(iters=3, n_train=300, n_eval=200, hidden=16, depth=1)


def tiny_grid(variants=("vanilla", "wgan-gp"), modes=(4, 8), seeds=2):
    return [RunConfig(variant=v, layout="ring", modes=m, seed=s, **TINY)
            for v in variants for m in modes for s in range(seeds)]


def test_a_grid_writes_one_valid_record_per_job(tmp_path):
    configs = tiny_grid()
    counts = run_grid(configs, tmp_path, progress=False)
    assert counts == {"total": 8, "skipped": 0, "trained": 8, "diverged": 0, "failed": 0, "extended": 0}
    files = sorted((tmp_path / "runs").glob("*.json"))
    assert [f.stem for f in files] == sorted(c.run_id for c in configs)
    rec = json.loads(files[0].read_text())
    assert rec["status"] == "ok"
    assert set(rec["metrics"]) >= {"modes", "hq_fraction", "reverse_kl", "kmeans_coverage", "mode_counts"}
    assert rec["versions"]["torch"] and rec["timings"]["train_s"] > 0
    assert len(rec["losses"]["step"]) == len(rec["losses"]["d"]) > 0
    # kept compact: the samples in a compressed file beside the record (the scatter points, read from it,
    # to 4 decimals) and the losses to 6 digits as written, not float32's nearest values spelled out to
    # 17 digits (which tripled results/' size)
    assert "samples" not in rec
    with np.load(tmp_path / "runs" / f"{rec['id']}.samples.npz") as z:
        assert z["samples"].shape == (rec["config"]["n_eval"], 2) and z["samples"].dtype == np.float32
    loaded = next(r for r in load_records(tmp_path) if r["id"] == rec["id"])
    assert len(loaded["samples"]) == min(N_SCATTER, rec["config"]["n_eval"])
    assert loaded["samples"] == np.round(np.asarray(loaded["samples"], dtype=np.float64), 4).tolist()
    assert all(v == float(f"{v:.6g}") for v in rec["losses"]["d"] + rec["losses"]["g"])
    assert not list((tmp_path / "runs").glob("*.tmp"))


def test_a_second_identical_call_trains_nothing(tmp_path):
    run_grid(tiny_grid(), tmp_path, progress=False)
    counts = run_grid(tiny_grid(), tmp_path, progress=False)
    assert counts["trained"] == 0 and counts["skipped"] == 8


def test_same_config_and_seed_give_identical_metrics(tmp_path):
    cfgs = tiny_grid(variants=("vanilla",), modes=(4,), seeds=2)
    a = ensemble_records.run_ensemble(cfgs)
    b = ensemble_records.run_ensemble(cfgs)
    assert [r["metrics"] for r in a] == [r["metrics"] for r in b]


def test_a_record_depends_only_on_its_config_not_on_its_ensemble():
    """One seed alone, in an ensemble of 3 and in one of 20 (modes pooled, as the planner does for
    unconditional variants): the same record, bit for bit, but for its timings."""
    def strip(rec):
        return {k: v for k, v in rec.items() if k not in ("timings", "created")}

    for variant in ("vanilla", "cond-wgan-gp"):
        cfgs = [RunConfig(variant=variant, layout="ring", modes=4 if variant != "vanilla" else 4 + 4 * (s % 2),
                          seed=s, **{**TINY, "iters": 40}) for s in range(20)]
        alone = ensemble_records.run_ensemble([cfgs[7]])
        for group in (cfgs[6:9], cfgs) if variant == "vanilla" else (cfgs[6:9],):
            rec = ensemble_records.run_ensemble(group)[group.index(cfgs[7])]
            assert strip(rec) == strip(alone[0]), f"{variant}: seed 7 in an ensemble of {len(group)}"


def test_the_run_id_hashes_the_full_config():
    base = RunConfig(variant="vanilla", layout="ring", modes=8, seed=0)
    assert base.run_id == RunConfig(variant="vanilla", layout="ring", modes=8, seed=0, std=0.01).run_id
    others = [RunConfig(variant="vanilla", layout="ring", modes=8, seed=1),
              RunConfig(variant="vanilla", layout="ring", modes=8, seed=0, iters=10),
              RunConfig(variant="pacgan", layout="ring", modes=8, seed=0),
              RunConfig(variant="vanilla", layout="grid", modes=8, seed=0),
              RunConfig(variant="vanilla", layout="ring", modes=8, seed=0, precision="bf16")]
    assert len({base.run_id, *(c.run_id for c in others)}) == 6
    with pytest.raises(ValueError, match="precision must be one of None, bf16"):
        validate(RunConfig(variant="vanilla", layout="ring", modes=8, seed=0, precision="fp16"))


def test_bf16_runs_are_reported_apart_from_fp32_runs(tmp_path):
    from dataclasses import replace

    grid = tiny_grid(variants=("vanilla",), modes=(4,))
    run_grid(grid + [replace(c, precision="bf16") for c in grid], tmp_path, progress=False)
    report = build_report(tmp_path).read_text()
    assert "## ring layout, 3 generator iterations" in report and "## ring layout (bf16), 3 generator" in report
    assert "over all 2 seeds" in report and "over all 4 seeds" not in report
    assert (tmp_path / "tables" / "ring_3_bf16.csv").exists()


def test_an_interrupted_grid_keeps_finished_records_and_resumes(tmp_path, monkeypatch):
    configs = tiny_grid()
    real = executors.ensemble_task
    calls = []

    def flaky(group, *args):
        calls.append(group)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(group, *args)

    monkeypatch.setattr(executors, "ensemble_task", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_grid(configs, tmp_path, progress=False)
    first = len(planner.ensembles(configs)[0])
    assert len(load_records(tmp_path)) == first  # the first ensemble finished
    monkeypatch.setattr(executors, "ensemble_task", real)
    counts = run_grid(configs, tmp_path, progress=False)
    assert counts["skipped"] == first and counts["trained"] == 8 - first
    assert len(load_records(tmp_path)) == 8


def test_ensembles_train_seeds_and_modes_together_where_the_networks_match():
    grid = plan_grid(["vanilla", "cond-wgan-gp"], ["ring"], [4, 8, 16], 3, iters=10)
    groups = planner.ensembles(grid)
    sizes = sorted((g[0].variant, len(g)) for g in groups)
    # unconditional: one network shape for every number of modes; conditional: one per number of modes
    assert sizes == [("cond-wgan-gp", 3)] * 3 + [("vanilla", 9)]
    assert sorted(len(g) for g in planner.ensembles(grid, max_size=4)) == [1, 3, 3, 3, 4, 4]
    assert sorted(c.run_id for g in groups for c in g) == sorted(c.run_id for c in grid)
    # one config with many seeds and two workers: split so that both cores train
    ten = plan_grid(["vanilla"], ["ring"], [8], 10, iters=10)
    assert [len(g) for g in planner.ensembles(ten)] == [10]
    assert sorted(len(g) for g in planner.ensembles(ten, workers=2)) == [5, 5]
    assert sorted(len(g) for g in planner.ensembles(ten[:1], workers=4)) == [1]


def test_the_costliest_ensembles_start_first_and_the_workers_finish_together():
    """The default grid at 8 and 32 modes, as measured (1,000 iterations, 2 cores, AMD EPYC): WGAN-GP's
    one ensemble of 10 took 102 s, conditional WGAN-GP's two of 5 63 s each, minibatch discrimination's
    of 10 44 s, PacGAN's 26 s, vanilla's 19 s. Costliest first, one worker got WGAN-GP then a
    conditional ensemble (171 s) while the other was done at 164 s; split in two, WGAN-GP lets both
    finish near half the total (158 s)."""
    from ganbench.planner import _cost, _makespan

    grid = plan_grid(["vanilla", "wgan-gp", "cond-wgan-gp", "minibatch", "pacgan"], ["ring"], [8, 32], 5, iters=10)
    groups = planner.ensembles(grid, workers=2)
    order = [(g[0].variant, len(g)) for g in groups]
    assert order == [("cond-wgan-gp", 5), ("cond-wgan-gp", 5), ("wgan-gp", 5), ("wgan-gp", 5),
                     ("minibatch", 10), ("pacgan", 10), ("vanilla", 10)]
    assert [_cost(g) for g in groups] == sorted((_cost(g) for g in groups), reverse=True)
    total = sum(_cost(g) for g in groups)
    assert _makespan(groups, 2) <= 1.01 * total / 2
    # one worker: nothing to balance, the ensembles stay whole
    assert sorted(len(g) for g in planner.ensembles(grid, workers=1)) == [5, 5, 10, 10, 10, 10]
    # two equally costly ensembles on four workers: every worker gets a half, although no single
    # split shortens the schedule (the two halves of one still leave the other whole)
    cond = plan_grid(["cond-wgan-gp"], ["ring"], [8, 32], 5, iters=10)
    assert sorted(len(g) for g in planner.ensembles(cond, workers=4)) == [2, 2, 3, 3]
    # no ensemble is split into halves smaller than MIN_HALF members to balance the schedule
    assert min(len(g) for g in planner.ensembles(cond, workers=2)) == 5


def test_a_killed_cli_run_loses_only_unfinished_jobs(tmp_path):
    """SIGKILL the real command in the middle of a grid, then re-run it: every job ends up with
    exactly one valid record."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ganbench", "run", "--variants", "vanilla", "pacgan", "--modes", "4", "8",
           "--seeds", "2", "--iters", "150", "--jobs", "2", "--no-progress", "--results", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((out / "runs").glob("*.json"))) < 1:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(list((out / "runs").glob("*.json")))
    assert 1 <= before
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{before} already done" in done.stderr
    records = load_records(out)
    assert len(records) == 8 and len({r["id"] for r in records}) == 8


def test_corrupt_and_foreign_files_are_reported_by_name_and_skipped(tmp_path):
    run_grid(tiny_grid(variants=("vanilla",), modes=(4,)), tmp_path, progress=False)
    (tmp_path / "runs" / "truncated.json").write_text('{"schema": "ganbench.run/1", "id"')
    (tmp_path / "runs" / "foreign.json").write_text('{"hello": 1}')
    (tmp_path / "runs" / "half.json").write_text('{"schema": "ganbench.run/1", "id": "x", '
                                                 '"config": {"variant": "vanilla"}}')
    warnings = []
    assert len(load_records(tmp_path, warn=warnings.append)) == 2
    for name in ("truncated.json", "foreign.json", "half.json"):
        assert any(name in w for w in warnings)
    report = build_report(tmp_path, warn=lambda s: None).read_text()
    assert "truncated.json" in report and "foreign.json" in report


def test_the_report_writes_tables_figures_and_the_tutorial_comparison(tmp_path):
    run_grid(tiny_grid(variants=("vanilla", "wgan-gp"), modes=(4, 8)), tmp_path, progress=False)
    report = build_report(tmp_path).read_text()
    tag = "ring_3"
    for name in ("modes", "hq_fraction", "reverse_kl", "kmeans_coverage", "fid", "kid_mean", "precision",
                 "recall", "density", "coverage", "c2st_accuracy"):
        table = (tmp_path / "tables" / f"{name}_{tag}.md").read_text()
        assert "| vanilla" in table and "| wgan-gp" in table and "4 modes" in table and "8 modes" in table
    assert "(n = 2)" in (tmp_path / "tables" / f"fid_{tag}.md").read_text()
    assert (tmp_path / "tables" / f"{tag}.csv").read_text().startswith(
        "layout,std,iters,auto_cap,precision,variant,modes,runs")
    for fig in ("modes_vs_n", "samples", "losses"):
        assert (tmp_path / "figures" / f"{fig}_{tag}.png").stat().st_size > 1000
        assert f"figures/{fig}_{tag}.png" in report
    comparison = (tmp_path / "tables" / f"tutorial_comparison_{tag}.md").read_text()
    assert "claimed %" in comparison and "| vanilla" in comparison


def test_a_report_redraws_only_the_figures_whose_inputs_changed(tmp_path, monkeypatch):
    import ganbench.report_figures as rf

    run_grid(tiny_grid(variants=("vanilla",), modes=(4,)), tmp_path, progress=False)
    build_report(tmp_path)
    figs = sorted((tmp_path / "figures").glob("*.png"))
    assert figs and all(rf._stored_digest(f) for f in figs)
    drawn = []
    real_save = rf._save
    monkeypatch.setattr(rf, "_save",
                        lambda fig, file, **kw: (drawn.append(Path(file).name), real_save(fig, file, **kw)))
    build_report(tmp_path)
    assert drawn == []  # nothing changed: every figure is already there
    figs[0].write_bytes(figs[0].read_bytes()[:100])  # a torn file is drawn again
    run_grid(tiny_grid(variants=("vanilla",), modes=(4,), seeds=3), tmp_path, progress=False)  # one more seed
    build_report(tmp_path)
    assert figs[0].name in drawn and {"samples_ring_3.png", "losses_ring_3.png", "modes_vs_n_ring_3.png"} <= set(drawn)


def test_figures_are_palette_pngs_only_where_a_palette_is_faithful():
    """Figures are written in 256 colours (a third of matplotlib's RGBA size) where that is faithful:
    pixel for pixel with at most 256 colours, within 1 level of 255 on average for anti-aliased line
    plots (white kept white); colour noise (a Stacked-MNIST grid) stays full RGB, pixel for pixel.
    The inputs' digest is kept in every case."""
    import io

    from PIL import Image

    from ganbench.report_figures import _DIGEST_KEY, _plt, _png

    plt = _plt()

    def drawn(fig):
        fig.set_dpi(50)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)

    grey, lines, noise = (plt.figure(figsize=(3, 3)) for _ in range(3))
    grey.figimage(np.arange(150 * 150).reshape(150, 150) % 200, cmap="gray")  # 200 grey levels, no anti-aliasing
    ax = lines.add_subplot()
    for k in range(5):
        ax.plot(np.sin(np.linspace(0, 6, 200) + k), label=str(k))
    ax.legend()
    noise.add_subplot().imshow(np.random.default_rng(0).random((30, 30, 3)))  # thousands of colours
    for fig, mode, exact in ((grey, "P", True), (lines, "P", False), (noise, "RGB", True)):
        want = drawn(fig)
        assert len(np.unique(want.reshape(-1, 3), axis=0)) > 256 or fig is grey
        im = Image.open(io.BytesIO(_png(fig, 50, "d1")))
        got = np.asarray(im.convert("RGB")).astype(int)
        assert im.mode == mode and im.text[_DIGEST_KEY] == "d1" and got.shape == want.shape
        if exact:
            assert np.array_equal(got, want)
        else:
            assert np.abs(got - want).mean() <= 1 and (got[want.sum(-1) == 765] == 255).all()  # white stays white
        plt.close(fig)


def test_a_plan_rejects_bad_values_with_what_is_allowed():
    with pytest.raises(ValueError, match="choose from"):
        plan_grid(["nope"], ["ring"], [4], 1)
    with pytest.raises(ValueError, match="at most 9"):
        plan_grid(["vanilla"], ["blobs"], [16], 1)
    with pytest.raises(ValueError, match="seeds must be at least 1"):
        plan_grid(["vanilla"], ["ring"], [4], 0)


def test_runs_at_another_std_get_their_own_section_not_extra_seeds(tmp_path):
    grid = [RunConfig(variant="vanilla", layout="ring", modes=4, seed=0, **TINY),
            RunConfig(variant="vanilla", layout="ring", modes=4, seed=0, std=0.05, **TINY)]
    run_grid(grid, tmp_path, progress=False)
    report = build_report(tmp_path).read_text()
    assert "## ring layout, 3 generator iterations" in report and "## ring layout (std 0.05), 3" in report
    assert "over 2 seeds" not in report
    assert (tmp_path / "tables" / "ring_3.csv").exists() and (tmp_path / "tables" / "ring_3_std0.05.csv").exists()


def test_a_run_is_judged_from_its_own_trajectory():
    """The settled rule needs a window of at least a doubling of iterations and 3 trajectory points
    (ganbench.convergence; tests/test_population.py has more cases)."""
    from ganbench.report_tables import run_state

    def rec(modes, hq, status="ok", k=8):
        return {"status": status, "config": {"modes": k},
                "trajectory": {"step": [200, 500, 1000], "modes": modes, "hq_fraction": hq}}

    assert run_state(rec([2, 2, 2], [0.01, 0.02, 0.03])) == "untrained"      # a line segment: 3 % HQ
    assert run_state(rec([6, 7, 7], [0.80, 0.82, 0.85])) == "settled"        # one mode and 5 points
    assert run_state(rec([3, 5, 6], [0.50, 0.70, 0.80])) == "changing"       # 3 modes in the window
    assert run_state(rec([6, 6, 6], [0.50, 0.70, 0.80])) == "changing"       # 30 points of HQ
    assert run_state(rec([28, 30, 31], [0.7, 0.72, 0.75], k=32)) == "settled"  # within 10 % of 32 modes
    assert run_state(rec([6, 6, 6], [0.8, 0.8, 0.8], status="diverged")) == "diverged"
    assert run_state({"status": "ok", "config": {"modes": 8}}) == "no trajectory"
    # two points are not enough to call a run settled, however still it is
    two = {"status": "ok", "config": {"modes": 8}, "trajectory": {"step": [500, 1000], "modes": [8, 8],
                                                                     "hq_fraction": [0.9, 0.9]}}
    assert run_state(two) == "changing"


def test_the_report_shows_intervals_states_trajectories_and_holm_comparisons(tmp_path):
    grid = [RunConfig(variant=v, layout="ring", modes=4, seed=s, iters=30, n_train=512, n_eval=200, hidden=16, depth=1)
            for v in ("vanilla", "wgan-gp") for s in (0, 1, 2)]
    run_grid(grid, tmp_path, progress=False)
    report = build_report(tmp_path).read_text()
    assert "### How the runs ended" in report and "(n = 3)" in report
    assert (tmp_path / "figures" / "trajectory_ring_30.png").stat().st_size > 1000
    assert "figures/trajectory_ring_30.png" in report
    assert "## Convergence" not in report
    # 30 iterations teach these nets nothing: every run is untrained, counted in every cell and as a rate;
    # 3 runs a side are too few for a pairwise test
    assert "untrained 3/3: 100 % [44, 100]" in report and "untrained: " in report
    assert "too few runs (< 5)" in report and "### Baselines: can each metric tell?" in report


def test_untrained_runs_count_in_every_cell_and_variants_are_compared_over_all_runs(tmp_path):
    """Issue 25: an untrained run (final HQ under 5 %) stays in its cell's population (its mode count is
    what its samples give) and is counted as a rate; the pairwise tests are permutation tests over every
    run, on modes at half their fair share, and a side under 5 runs is not tested."""
    from ganbench.report import _findings
    from ganbench.report_sections import _pairwise_section
    from ganbench.report_tables import records_frame, summarise, wide_table

    def rec(variant, seed, modes, hq):
        return {"id": f"{variant}{seed}", "status": "ok",
                "config": {"variant": variant, "layout": "ring", "std": 0.01, "modes": 8, "seed": seed, "iters": 10},
                "metrics": {"modes": modes, "n_modes": 8, "hq_fraction": hq, "reverse_kl": 0.2,
                            "kmeans_coverage": modes / 8,
                            "mode_counts": [int(2500 * hq / max(modes, 1))] * modes + [0] * (8 - modes),
                            "n_samples": 2500},
                "trajectory": {"step": [2, 5, 10], "modes": [modes] * 3, "hq_fraction": [hq] * 3}}

    records = ([rec("vanilla", s, m, 0.8) for s, m in enumerate((3, 3, 2, 3, 2))]
               + [rec("pacgan", s, m, 0.9) for s, m in enumerate((8, 8, 7, 8, 8))]
               + [rec("wgan-gp", s, 6, 0.01) for s in range(5)]              # a line through 6 modes
               + [rec("minibatch", 0, 8, 0.9), rec("minibatch", 1, 1, 0.02)]
               + [{**rec("vanilla", 5, 0, 0.0), "status": "diverged", "metrics": None}])
    df = records_frame(records)
    assert (df.loc[df.variant == "wgan-gp", "m_modes"] == 6).all()             # counted, not withheld
    assert df.loc[df.variant == "wgan-gp", "m_modes_trained"].isna().all()     # the labelled secondary column
    s = summarise(df)
    cells = wide_table(s, "modes", 1)["8 modes"]
    assert cells["wgan-gp"].endswith("(n = 5)") and cells["minibatch"].endswith("(n = 2)")
    assert cells["vanilla"].startswith("2.2 ") and cells["vanilla"].endswith("(n = 6)")  # the diverged run: 0 modes
    findings = "\n".join(_findings(s, {8: {"modes"}}))
    assert "untrained: wgan-gp 5/5, minibatch 1/2" in findings or "untrained: minibatch 1/2, wgan-gp 5/5" in findings
    assert "modes captured is saturated here" in findings
    section = _pairwise_section(df, tmp_path, "t")  # returns its table; the report's one caller writes it
    text = "\n".join(section)
    assert not list(tmp_path.iterdir())
    pairs = pd.read_csv(io.StringIO(section.files[tmp_path / "pairwise_modes_fair_t.csv"])).set_index(["a", "b"])
    # each variant against vanilla, Holm within the K: 3 tested pairs
    assert pairs.loc[("pacgan", "vanilla")].n_b == 6 and pairs.loc[("pacgan", "vanilla")].p > 0
    assert pairs.loc[("wgan-gp", "vanilla")].n_a == 5 and ("wgan-gp", "pacgan") not in pairs.index
    assert pd.isna(pairs.loc[("minibatch", "vanilla")].p)                     # 2 runs: not tested
    assert pairs.loc[("pacgan", "vanilla")].p_min == pytest.approx(2 / 462)   # C(11, 5) splits
    assert "pacgan > vanilla" in text and "too few runs (< 5)" in text


def test_the_tutorial_comparison_gives_verdicts_and_counts_no_hq_runs_as_ln_k():
    from ganbench.report_tables import records_frame, summarise, tutorial_comparison

    def rec(variant, seed, cov, rkl=0.1):
        return {"id": f"{variant}{seed}", "status": "ok",
                "config": {"variant": variant, "layout": "ring", "std": 0.01, "modes": 4, "seed": seed, "iters": 10},
                "metrics": {"modes": 4, "n_modes": 4, "hq_fraction": 0.0 if rkl is None else 0.9,
                            "reverse_kl": rkl, "kmeans_coverage": cov}}

    recs = [rec("vanilla", s, 1.0) for s in range(10)] + [rec("wgan-gp", s, c, None if s == 0 else 0.1)
                                                          for s, c in enumerate([1.0, 1.0])]
    df = records_frame(recs)
    summary = summarise(df)
    wg = summary.set_index("variant").loc["wgan-gp"]
    assert wg.no_hq == 1 and wg.reverse_kl_mean == pytest.approx((np.log(4) + 0.1) / 2)
    comp = tutorial_comparison(df).set_index(["variant", "modes"])
    # vanilla: 10 seeds all at 100 % against a claim of 75 without spread: far from our mean, but as one
    # run it would sit below all 10 of ours (p = 2/11), so not "differs" (tests/test_stats.py)
    assert comp.loc[("vanilla", 4), "verdict_label"] == "undecided"
    assert comp.loc[("wgan-gp", 4), "verdict_label"] == "too few runs"     # 2 runs
    assert comp.loc[("cond-wgan-gp", 4), "verdict"] == "-"
    # where a structureless generator covers every centre, the coverage gives no verdict
    sat = tutorial_comparison(df, {4: {"kmeans_coverage"}}).set_index(["variant", "modes"])
    assert sat.loc[("vanilla", 4), "verdict_label"] == "saturated"


def test_a_wide_table_cell_shows_the_interval_clipped_only_where_it_leaves_the_range():
    """HQ of 0, 0, 0.357 (display 0, 0, 35.7 %): mean 11.9, half-width t(2) x 20.6 / sqrt(3) = 51.2;
    the low end stops at 0 %, the high end stays at 63.1 % (clipping one end leaves the other alone)."""
    from ganbench.report_tables import records_frame, summarise, wide_table

    recs = [{"id": f"v{s}", "status": "ok",
             "config": {"variant": "vanilla", "layout": "ring", "std": 0.01, "modes": 8, "seed": s, "iters": 10},
             "metrics": {"modes": 1, "n_modes": 8, "hq_fraction": h, "reverse_kl": 0.0, "kmeans_coverage": 0.125}}
            for s, h in enumerate([0.0, 0.0, 0.357])]
    cell = wide_table(summarise(records_frame(recs)), "hq_fraction", 1).loc["vanilla", "8 modes"]
    hw = sps.t.ppf(0.975, 2) * np.std([0, 0, 35.7], ddof=1) / np.sqrt(3)
    assert cell == f"11.9 [0.0, {11.9 + hw:.1f}] (n = 3)"


def test_a_trajectory_point_is_the_run_trained_to_that_budget():
    """Evaluating during training leaves training alone: the trajectory's point at 20 and 50
    iterations is, bit for bit, the final evaluation of the same config trained for 20 and 50."""
    assert ensemble_records.trajectory_steps(60) == [10, 20, 50, 60]
    assert ensemble_records.trajectory_steps(39_500)[-3:] == [10_000, 20_000, 39_500]
    for variant in ("vanilla", "cond-wgan-gp"):
        cfg = RunConfig(variant=variant, layout="ring", modes=8, seed=3, **{**TINY, "iters": 60})
        (rec,) = ensemble_records.run_ensemble([cfg])
        traj = rec["trajectory"]
        assert traj["step"] == [10, 20, 50, 60]
        for budget in (20, 50):
            (short,) = ensemble_records.run_ensemble([RunConfig(**{**cfg.__dict__, "iters": budget})])
            i = traj["step"].index(budget)
            for m in ensemble_records.TRAJECTORY_METRICS:
                assert traj[m][i] == short["metrics"][m], (variant, budget, m)
        assert ([traj[m][-1] for m in ensemble_records.TRAJECTORY_METRICS]
                == [rec["metrics"][m] for m in ensemble_records.TRAJECTORY_METRICS])


def test_exploded_or_non_finite_samples_mark_a_run_diverged():
    real = np.array([[1.0, -2.0], [0.5, 0.5]])
    assert ensemble_records.sample_divergence(np.array([[3.0, 4.0]]), real) is None
    assert ensemble_records.sample_divergence(np.array([[np.nan, 0.0]]), real) == "non-finite samples"
    assert ensemble_records.sample_divergence(np.array([[201.0, 0.0]]), real).startswith("samples exploded")


def test_a_larger_budget_extends_finished_runs_to_what_training_from_scratch_gives(tmp_path):
    """Budget 130 first, then 250 in the same folder: the 250 runs continue from the 130 checkpoints
    (weights, Adam, random streams, the unfinished loss window) and their records equal, but for
    timings, those of runs trained to 250 at once. 130 is not a logging boundary (100) and the
    trajectory points at 10 .. 100 come from the base; 200 is evaluated during the extension."""
    def grid(iters, variants=("vanilla", "cond-wgan-gp")):
        return [RunConfig(variant=v, layout="ring", modes=4, seed=s, iters=iters, n_train=300, n_eval=200,
                          hidden=16, depth=1) for v in variants for s in (0, 1)]

    def strip(rec):
        return {k: v for k, v in rec.items() if k not in ("timings", "created", "extended_from")}

    run_grid(grid(130), tmp_path / "a", progress=False)
    counts = run_grid(grid(250), tmp_path / "a", progress=False)
    assert counts["extended"] == 4 and counts["trained"] == 4
    run_grid(grid(250), tmp_path / "b", progress=False)
    a = {r["id"]: r for r in load_records(tmp_path / "a") if r["config"]["iters"] == 250}
    b = {r["id"]: r for r in load_records(tmp_path / "b")}
    assert a.keys() == b.keys()
    for rid in a:
        assert a[rid]["extended_from"]["iters"] == 130 and "extended_from" not in b[rid]
        assert a[rid]["trajectory"]["step"] == [10, 20, 50, 100, 200, 250]
        assert a[rid]["losses"]["step"] == [100, 200, 250]
        assert strip(a[rid]) == strip(b[rid])
    # and the extended runs' own checkpoints continue again: 250 -> 300 equals 300 at once
    run_grid(grid(300, ("vanilla",)), tmp_path / "a", progress=False)
    run_grid(grid(300, ("vanilla",)), tmp_path / "c", progress=False)
    a = {r["id"]: r for r in load_records(tmp_path / "a") if r["config"]["iters"] == 300}
    c = {r["id"]: r for r in load_records(tmp_path / "c")}
    assert all(a[rid]["extended_from"]["iters"] == 250 and strip(a[rid]) == strip(c[rid]) for rid in c)


def test_a_folder_of_preset_runs_points_to_reproduction_and_the_intro_states_each_batch(tmp_path):
    from ganbench.config import preset_jobs
    from ganbench.presets import get_preset
    from ganbench.report_tables import _seed_range, _values

    job = preset_jobs(get_preset("tutorial"), "quick", seeds=1, iters=2)[0]
    run_grid([job], tmp_path, progress=False)
    report = build_report(tmp_path).read_text()
    assert "only published-protocol (preset) runs" in report and "No run records" not in report
    recs = [{"config": {"layout": "mnist", "batch_size": 64}}, {"config": {"layout": "ring", "batch_size": 128}}]
    assert _values(recs, "batch_size") == "64 (images and tables), 128 (mixtures)"
    assert _values(recs[:1], "batch_size") == "64"
    df = pd.DataFrame([{"variant": "vanilla", "layout": lay, "std": 0.0, "modes": 10, "iters": 1, "seed": s}
                       for lay, seeds in (("mnist", 2), ("ring", 5)) for s in range(seeds)])
    assert _seed_range(df) == "2–5"


def test_records_made_under_earlier_hyperparameters_are_left_out_of_tables(tmp_path):
    run_grid([RunConfig(variant="cond-wgan-gp", layout="ring", modes=4, seed=s, **TINY) for s in range(2)],
             tmp_path, progress=False)
    recs = load_records(tmp_path)
    old = json.loads(json.dumps(recs[0]))
    old["variant_params"].pop("fake_labels")  # as cond-wgan-gp records were before the label scheme
    old["id"] = "0123456789abcdef"
    warnings = []
    kept = store.current_records(recs + [old], warn=warnings.append)
    assert [r["id"] for r in kept] == [r["id"] for r in recs]
    assert len(warnings) == 1 and "left out 1 record(s)" in warnings[0]
