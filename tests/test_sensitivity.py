"""Per-run hyperparameter overrides (RunConfig.hparams, `ganbench run --set`), the sensitivity-2d
panel, and its report section (SENSITIVITY.md)."""
import json

import numpy as np
import pytest

from ganbench.cli import _plan, build_parser, main
from ganbench.config import RunConfig, plan_grid, preset_jobs, validate
from ganbench.hparams import hparams_json, hparams_label
from ganbench.presets import EXPERIMENTS, PRESETS, get_preset

TOY = {"adam": {"lr": 1e-4, "betas": [0.5, 0.9]}, "gp_lambda": 0.1}


def ring(variant="wgan-gp", **kw):
    return RunConfig(variant=variant, layout="ring", modes=8, seed=0, **kw)


# --- RunConfig.hparams ------------------------------------------------------------------------------

def test_configs_without_overrides_keep_their_ids():
    # the ids of committed records (results/runs), made before RunConfig had hparams
    assert ring("vanilla").run_id == "5c1b91a9904eefca"
    assert "hparams" not in ring().identity()["config"]
    assert ring(hparams="{}").run_id == ring().run_id  # no override is no override
    tut = preset_jobs(get_preset("tutorial"), "quick", seeds=1)[0]
    assert "hparams" not in tut.identity()["config"]


def test_overrides_are_canonical_json_and_change_the_variant_and_the_id():
    text = hparams_json(TOY)
    assert text == '{"adam":{"betas":[0.5,0.9],"lr":0.0001},"gp_lambda":0.1}'
    a = ring(hparams=text)
    # a dict, other spacing and key order, tuples and ints: the same text, the same run
    b = ring(hparams={"gp_lambda": 0.1, "adam": {"betas": (0.5, 0.9), "lr": 0.0001}})
    c = ring(hparams='{ "gp_lambda" : 0.1, "adam": {"lr": 1e-4, "betas": [0.5, 0.9]} }')
    assert a.hparams == b.hparams == c.hparams == text and a.run_id == b.run_id == c.run_id
    assert ring(hparams={"gp_lambda": 1}).hparams == ring(hparams={"gp_lambda": 1.0}).hparams
    assert a.run_id != ring().run_id
    assert a.identity()["config"]["hparams"] == text
    p = a.variant_obj().params()
    assert p["gp_lambda"] == 0.1 and p["adam"] == {"lr": 1e-4, "betas": [0.5, 0.9]}
    v = a.variant_obj()
    assert v.gp_lambda == 0.1 and v.adam == {"lr": 1e-4, "betas": (0.5, 0.9)}  # what training reads
    assert hparams_label(text) == "gp_lambda 0.1, Adam 1e-4 (0.5, 0.9)"


def test_a_partial_adam_override_keeps_the_rest_and_a_presets_overrides():
    base = ring().variant_obj()
    v = ring(hparams={"adam": {"lr": 1e-3}}).variant_obj()
    assert v.adam == {"lr": 1e-3, "betas": tuple(base.adam["betas"])} and v.gp_lambda == base.gp_lambda
    job = preset_jobs(get_preset("stacked-mnist-small-d"), "quick", seeds=1)[0]
    from dataclasses import replace

    p = replace(job, hparams={"adam": {"betas": [0.5, 0.9]}}).variant_obj().params()
    assert p["adam"] == {"lr": 1e-4, "betas": [0.5, 0.9]} and p["adam_d"] == {"lr": 2e-4, "betas": [0.5, 0.99]}


@pytest.mark.parametrize("hparams,expect", [
    ('{"lambda": 1}', "unknown hyperparameter 'lambda': choose from adam, adam_d, n_critic, gp_lambda"),
    ('{"adam": {"lr": 1e-4, "eps": 1e-8}}', "hyperparameter adam must be an object with lr and / or betas"),
    ('{"adam": {"lr": 0}}', "adam.lr must be positive"),
    ('{"adam": {"betas": [0.5]}}', "adam.betas must be two numbers"),
    ('{"adam": {"betas": [0.5, 1.0]}}', "adam.betas must lie in [0, 1)"),
    ('{"gp_lambda": -1}', "gp_lambda must be >= 0"),
    ('{"gp_lambda": "big"}', "gp_lambda must be a number"),
    ('{"n_critic": 2.5}', "n_critic must be a whole number"),
    ("gp_lambda=1", "hparams is not JSON"),
    ("[1, 2]", "hparams must be a JSON object"),
])
def test_bad_overrides_are_one_clear_error(hparams, expect):
    with pytest.raises(ValueError) as e:
        validate(ring(hparams=hparams))
    assert expect in str(e.value)


def test_a_variant_takes_only_the_hyperparameters_it_has():
    with pytest.raises(ValueError, match="vanilla has no hyperparameter gp_lambda: it has adam, adam_d, n_critic"):
        validate(ring("vanilla", hparams={"gp_lambda": 1}))
    validate(ring("minibatch", hparams={"n_kernels": 4}))
    with pytest.raises(ValueError, match="vanilla has no hyperparameter gp_lambda"):
        plan_grid(["wgan-gp", "vanilla"], ["ring"], [8], 1, hparams=hparams_json({"gp_lambda": 1}))


def test_training_reads_the_overrides():
    from ganbench.data import make_mixture
    from ganbench.train import generate, train_ensemble
    from ganbench.variants import Dims, get_variant

    dims = Dims(hidden=16, depth=2, n_classes=4)
    mix = make_mixture("ring", 4, seed=0, std=0.1, n_train=500)

    def sample(v):
        t = train_ensemble(v, [mix.points], [mix.labels], [0], dims, iters=3, batch_size=32)
        return generate(t.G, [0], 50, dims, False)[0]

    ours = {"gp_lambda": 10.0, "adam": {"lr": 2e-4, "betas": [0.0, 0.9]}}
    by_hand = sample(get_variant("wgan-gp").with_overrides(gp_lambda=10.0, adam={"lr": 2e-4, "betas": (0.0, 0.9)}))
    assert np.array_equal(sample(ring(hparams=ours).variant_obj()), by_hand)
    assert not np.array_equal(sample(ring(hparams={**ours, "gp_lambda": 0.1}).variant_obj()), by_hand)
    assert not np.array_equal(sample(ring(hparams={**ours, "adam": {"lr": 1e-3}}).variant_obj()), by_hand)


# --- ganbench run --set -------------------------------------------------------------------------------

def test_set_gives_every_run_of_the_grid_the_overrides(tmp_path):
    args = build_parser().parse_args(["run", "--variants", "wgan-gp", "cond-wgan-gp", "--modes", "8", "--seeds", "2",
                                      "--set", "gp_lambda=0.1", "--set", "adam.lr=1e-4", "--set", "adam.betas=0.5,0.9",
                                      "--results", str(tmp_path)])
    configs = _plan(args)
    assert len(configs) == 4 and {c.hparams for c in configs} == {hparams_json(TOY)}
    plain = _plan(build_parser().parse_args(["run", "--variants", "wgan-gp", "--modes", "8", "--seeds", "1"]))
    assert plain[0].hparams is None and plain[0].run_id == ring(iters=plain[0].iters).run_id


@pytest.mark.parametrize("args,expect", [
    (["--set", "gp_lambda=0.1"], "vanilla has no hyperparameter gp_lambda"),   # the default grid has vanilla
    (["--variants", "wgan-gp", "--set", "lambda=1"], "give NAME=VALUE with NAME one of n_critic, gp_lambda"),
    (["--variants", "wgan-gp", "--set", "gp_lambda"], "give NAME=VALUE"),
    (["--variants", "wgan-gp", "--set", "gp_lambda=big"], "gp_lambda must be a number, got 'big'"),
    (["--variants", "wgan-gp", "--set", "adam.betas=0.5"], "adam.betas must be two numbers"),
    (["--variants", "wgan-gp", "--set", "adam.betas=0.5,1.5"], "adam.betas must lie in [0, 1)"),
    (["--variants", "wgan-gp", "--set", "adam.lr=-1"], "adam.lr must be positive"),
    (["--variants", "wgan-gp", "--set", "n_critic=1.5"], "n_critic must be a whole number"),
    (["--preset", "sensitivity-2d", "--set", "gp_lambda=1"], "drop --set"),
])
def test_bad_set_is_one_line_and_exit_code_2(args, expect, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *args, "--results", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ganbench: error: ") and expect in err
    assert not out.exists()


# --- the sensitivity-2d panel ------------------------------------------------------------------------

def test_the_panel_plans_each_setting_explicitly_and_stays_out_of_reproduction():
    preset = get_preset("sensitivity-2d")
    assert "sensitivity-2d" in EXPERIMENTS and "sensitivity-2d" not in PRESETS  # no published table
    jobs = preset_jobs(preset, "quick")
    assert len(jobs) == len({c.run_id for c in jobs}) == 190
    assert {(c.iters, c.budget) for c in jobs} == {(1000, "quick")}
    assert {c.seed for c in jobs} == set(range(5))
    assert {(c.iters, c.budget) for c in preset_jobs(preset, "paper")} == {(5000, "paper")}
    assert {(c.layout, c.modes, c.std, c.hidden, c.depth, c.batch_size) for c in jobs} == \
        {("ring", 8, 0.01, 128, 3, 128), ("ring", 32, 0.01, 128, 3, 128)}
    by_variant = {}
    for c in jobs:
        h = json.loads(c.hparams)
        assert {"lr", "betas"} <= set(h["adam"])  # the optimiser always stated in full
        if c.variant.endswith("wgan-gp"):
            assert "gp_lambda" in h
        by_variant.setdefault(c.variant, set()).add(c.hparams)
        assert preset.setting_of(c.identity()["config"]) is not None
    assert {v: len(s) for v, s in by_variant.items()} == \
        {"wgan-gp": 6, "cond-wgan-gp": 4, "vanilla": 3, "minibatch": 3, "pacgan": 3}
    # each job's setting is the one that planned it (a setting is data x hyperparameters, not a variant)
    for s in preset.settings:
        for v in s.variants:
            cfg = RunConfig(variant=v, seed=0, iters=1000, preset=preset.name, budget="quick", **s.config)
            assert preset.setting_of(cfg.identity()["config"]) == s.name
    toy = ring("cond-wgan-gp", hparams=TOY, iters=1000, preset="sensitivity-2d", budget="quick")
    assert toy.run_id in {c.run_id for c in jobs}


# --- the report section ------------------------------------------------------------------------------

def _record(variant, hparams, seed, status="ok", modes=None, hq=None, K=8):
    cfg = RunConfig(variant=variant, layout="ring", modes=K, seed=seed, iters=1000, preset="sensitivity-2d",
                    budget="quick", hparams=hparams)
    metrics = None if modes is None else {
        "modes": modes, "hq_fraction": hq, "n_modes": K, "n_samples": 2500,
        "mode_counts": [int(2500 * hq / max(modes, 1))] * modes + [0] * (K - modes)}  # HQ spread evenly
    return {**cfg.identity(), "id": cfg.run_id, "status": status, "metrics": metrics,
            "centers": [[1.0, 0.0]] * K}


def test_the_section_counts_untrained_and_diverged_runs_in_the_population(tmp_path):
    from ganbench.sensitivity import cells_frame, write_sensitivity
    from ganbench.stats import wilson

    lam10 = {"gp_lambda": 10.0, "adam": {"lr": 2e-4, "betas": [0.0, 0.9]}}
    recs = [_record("wgan-gp", TOY, 0, modes=8, hq=0.9),
            _record("wgan-gp", TOY, 1, modes=6, hq=0.8),
            _record("wgan-gp", lam10, 0, modes=3, hq=0.01),          # untrained: counts with its 3 modes
            _record("wgan-gp", lam10, 1, modes=0, hq=0.0),           # untrained
            _record("wgan-gp", lam10, 2, status="diverged"),         # no metrics: 0 modes, diverged
            _record("wgan-gp", lam10, 3, modes=8, hq=0.5)]
    cells = cells_frame(recs).set_index("hparams")
    bad = cells.loc[hparams_json(lam10)]
    assert bad["runs"] == 4 and bad["untrained"] == 2 and bad["diverged"] == 1
    assert bad["captured_mean"] == pytest.approx((3 + 0 + 0 + 8) / 4)
    # modes at half their fair share (312 of 2,500 / 8 each): only the last run's 8 x 156 HQ samples
    # fall short too (156 < 156.25), so none
    assert bad["modes_mean"] == 0
    assert bad["hq_mean"] == pytest.approx(100 * (0.01 + 0 + 0 + 0.5) / 4)
    assert (bad["untrained_lo"], bad["untrained_hi"]) == pytest.approx(wilson(2, 4))
    good = cells.loc[hparams_json(TOY)]
    assert good["captured_mean"] == 7 and good["modes_mean"] == 7 and good["untrained"] == 0 and good["diverged"] == 0

    path = write_sensitivity(tmp_path, recs)
    text = path.read_text()
    assert path.name == "SENSITIVITY.md" and "`sensitivity-2d`, budget quick" in text
    assert "2 of 4 (50 %" in text and "total failure" in text
    # the spread table: gan_toy's setting is the best, lambda 10 with our optimiser the worst
    spread_line = next(line for line in text.splitlines() if line.startswith("| wgan-gp") and "(7.0)" in line)
    assert (spread_line.index("gp_lambda 0.1, Adam 1e-4 (0.5, 0.9)")
            < spread_line.index("gp_lambda 10, Adam 2e-4 (0, 0.9)"))
    assert (tmp_path / "tables" / "sensitivity_quick.csv").is_file()
    assert (tmp_path / "tables" / "sensitivity_quick.md").is_file()
    assert (tmp_path / "figures" / "sensitivity_quick.png").is_file()
    # no sensitivity records: the file and its tables go
    assert write_sensitivity(tmp_path, []) is None
    assert not path.exists() and not list((tmp_path / "tables").glob("sensitivity_*"))


def test_the_report_sends_set_runs_to_sensitivity_md_and_keeps_them_out_of_report_md(tmp_path):
    from ganbench.report import main_report

    cfg = RunConfig(variant="wgan-gp", layout="ring", modes=8, seed=0, iters=1000, hparams=TOY)
    rec = {**cfg.identity(), "id": cfg.run_id, "status": "ok", "metrics": {"modes": 8, "hq_fraction": 0.5},
           "centers": [[1.0, 0.0]] * 8}
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / f"{cfg.run_id}.json").write_text(json.dumps(rec))
    report = main_report(tmp_path).read_text()
    assert "[SENSITIVITY.md](SENSITIVITY.md)" in report and "No run records" not in report
    text = (tmp_path / "SENSITIVITY.md").read_text()
    assert "Grid runs with `--set`: ring layout, 1000 iterations" in text
    assert (tmp_path / "tables" / "sensitivity_set_ring_1000.csv").is_file()
    assert not (tmp_path / "REPRODUCTION.md").exists()
    (tmp_path / "runs" / f"{cfg.run_id}.json").unlink()
    main_report(tmp_path)
    assert not (tmp_path / "SENSITIVITY.md").exists()
