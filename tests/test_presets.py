"""Presets: the published protocols' constants, their networks, the CLI around them and the
reproduction report's arithmetic (ganbench.presets, ganbench.reproduction)."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ganbench.cli import main
from ganbench.config import RunConfig, preset_jobs
from ganbench.data import make_mixture
from ganbench.nets import EnsembleBatchNorm, Maxout, member_generators
from ganbench.presets import PRESETS, get_preset
from ganbench.reproduction_cells import compare_cells
from ganbench.train import generate, train_ensemble
from ganbench.variants import Dims
from test_training import assert_member_is_the_lone_run


def _by_setting(preset, budget="paper"):
    jobs = preset_jobs(get_preset(preset), budget)
    return jobs, {(c.layout, c.modes, c.variant) for c in jobs}


def test_pacgan_2d_is_the_published_protocol():
    jobs, cells = _by_setting("pacgan-2d")
    assert len(jobs) == 2 * 4 * 10  # ring and grid x GAN, PacGAN2/3/4 x 10 trials
    assert cells == {(lay, m, v) for lay, m in (("ring", 8), ("grid", 25))
                     for v in ("vanilla", "pacgan2", "pacgan3", "pacgan4")}
    for c in jobs:
        assert ((c.iters, c.batch_size, c.n_train, c.n_eval, c.latent_dim, c.arch)
                == (400_000, 100, 100_000, 2_500, 2, "pacgan-mlp"))
        assert c.std == {"ring": 0.01, "grid": 0.05}[c.layout]
        p = c.variant_obj().params()
        assert p["adam"] == {"lr": 1e-4, "betas": [0.8, 0.999]}
        assert p["pack"] == (1 if c.variant == "vanilla" else int(c.variant[-1]))
    ring = make_mixture("ring", 8, 0, n_train=10, std=0.01)
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 1.0)


def test_pacgan_networks_have_the_published_shapes():
    dims = Dims(latent_dim=2, arch="pacgan-mlp")
    G, D = get_preset("pacgan-2d").variant("pacgan3").build(member_generators([0, 1], 0), dims)
    bns = [m for m in G.modules() if isinstance(m, EnsembleBatchNorm)]
    assert len(bns) == 4 and all(b.weight.shape == (2, 1, 400) for b in bns)
    linears = [m.weight.shape for m in D.modules() if hasattr(m, "weight")]
    assert linears == [(2, 6, 1000), (2, 200, 1000), (2, 200, 1000), (2, 200, 1)]  # 3 maxout x 200 x 5, packed 3 x 2-d
    assert sum(isinstance(m, Maxout) for m in D.modules()) == 3
    w = D.net[0].weight
    assert abs(w.std().item() - 0.02) < 0.002 and D.net[0].bias.abs().max() == 0  # N(0, 0.02), zero biases


def test_the_other_presets_carry_their_protocols():
    toy, _ = _by_setting("wgan-gp-toy")
    assert {(c.batch_size, c.hidden, c.depth, c.iters) for c in toy} == {(256, 512, 3, 100_000)}
    p = toy[0].variant_obj().params()
    assert p["gp_lambda"] == 0.1 and p["n_critic"] == 5 and p["adam"] == {"lr": 1e-4, "betas": [0.5, 0.9]}
    eight = next(c for c in toy if c.modes == 8)
    mix = make_mixture(eight.layout, 8, 0, n_train=10, std=eight.std, scale=eight.scale)
    np.testing.assert_allclose(np.linalg.norm(mix.centers, axis=1), 2 / 1.414)
    assert mix.std == pytest.approx(0.02 / 1.414)

    small, cells = _by_setting("stacked-mnist-small-d")
    assert {(c.arch, c.variant) for c in small} == (
        {("dcgan-small-d", v) for v in ("vanilla", "pacgan2", "pacgan3", "pacgan4")}
        | {("dcgan-half-d", v) for v in ("vanilla", "pacgan2", "pacgan3")})
    p = small[0].variant_obj().params()
    assert p["adam"] == {"lr": 1e-4, "betas": [0.5, 0.99]} and p["adam_d"] == {"lr": 2e-4, "betas": [0.5, 0.99]}
    assert {(c.latent_dim, c.batch_size, c.iters, c.n_train) for c in small} == {(256, 128, 500_000, 128_000)}

    sm, _ = _by_setting("stacked-mnist")
    assert {(c.n_eval, c.n_train, c.arch) for c in sm} == {(26_000, 128_000, "dcgan")}

    tut = preset_jobs(get_preset("tutorial"), "paper")
    assert {(c.layout, c.modes) for c in tut} == {("blobs", 4), ("blobs", 8)} | {("ring", m) for m in (4, 8, 16, 32)}
    # 500 epochs x 79 batches; the WGAN-GP generators step at batches 0, 5, ..., 75 (16 an epoch), and
    # the tutorial judges coverage on 10,000 samples
    assert {c.n_eval for c in tut} == {10_000}
    assert {(c.variant, c.iters) for c in tut} == {("vanilla", 39_500), ("wgan-gp", 8_000), ("cond-wgan-gp", 8_000)}


def test_every_preset_plans_valid_distinct_runs_and_says_its_budget():
    for preset in PRESETS.values():
        for budget in ("quick", "paper"):
            jobs = preset_jobs(preset, budget)
            assert len({c.run_id for c in jobs}) == len(jobs)
            assert {c.budget for c in jobs} == {budget} and {c.preset for c in jobs} == {preset.name}
        quick, paper = preset_jobs(preset, "quick"), preset_jobs(preset, "paper")
        assert all(q.iters <= p.iters for q, p in zip(quick, paper, strict=False))
    assert {c.budget for c in preset_jobs(get_preset("pacgan-2d"), "quick", iters=7)} == {"custom"}


def test_a_plain_run_keeps_its_id_from_before_presets():
    # made by the code before RunConfig had arch / scale / preset / budget fields (results/runs)
    cfg = RunConfig(variant="vanilla", layout="ring", modes=8, seed=0)
    assert "preset" not in cfg.identity()["config"] and "adam_d" not in cfg.identity()["variant_params"]
    assert cfg.run_id == "5c1b91a9904eefca"


def test_ensemble_batchnorm_is_torch_batchnorm_per_member():
    torch.manual_seed(0)
    x = torch.randn(3, 16, 5) * 4 + 2
    ours = EnsembleBatchNorm(3, 5, momentum=0.05)
    refs = [nn.BatchNorm1d(5, momentum=0.05) for _ in range(3)]
    for _ in range(2):
        y = ours(x)
        for k, ref in enumerate(refs):
            torch.testing.assert_close(y[k], ref(x[k]))
    for k, ref in enumerate(refs):
        torch.testing.assert_close(ours.running_var[k, 0], ref.running_var)
        ref.eval()
    ours.eval()
    for k, ref in enumerate(refs):
        torch.testing.assert_close(ours(x)[k], ref(x[k]))


def test_maxout_takes_the_largest_piece_of_each_unit():
    x = torch.tensor([[[1., 5., 2., -1., -3., -2.]]])
    assert Maxout(3)(x).tolist() == [[[5., -1.]]]


def _train(variant, seeds, iters, points, labels, lr=None):
    dims = Dims(latent_dim=2, arch="pacgan-mlp")
    v = get_preset("pacgan-2d").variant(variant)
    if lr:
        v = v.with_overrides(adam={"lr": lr, "betas": (0.8, 0.999)})
    return v, dims, train_ensemble(v, [points] * len(seeds), [labels] * len(seeds), seeds, dims, iters=iters,
                                   batch_size=50)


def test_pacgan_networks_learn_an_easy_case_deterministically_and_alike_in_an_ensemble():
    rng = np.random.default_rng(0)
    points = (np.array([3.0, 3.0]) + 0.2 * rng.standard_normal((1000, 2))).astype(np.float32)
    labels = np.zeros(1000, dtype=np.int64)
    v, dims, before = _train("pacgan2", [0], 0, points, labels)
    _, _, after = _train("pacgan2", [0], 150, points, labels, lr=1e-3)

    def gap(t):
        return np.linalg.norm(generate(t.G, [0], 500, dims, False)[0][0].mean(0) - points.mean(0))

    assert gap(after) < 0.35 * gap(before)
    # Bitwise the same alone and in ensembles of 2 and 3 (BatchNorm statistics, maxout, 400-wide layers)
    _, _, b = _train("pacgan2", [4], 20, points, labels)
    _, _, c = _train("pacgan2", [4], 20, points, labels)
    assert np.array_equal(generate(b.G, [4], 50, dims, False)[0], generate(c.G, [4], 50, dims, False)[0])
    for seeds in ([1, 4], [4, 7, 9]):
        _, _, a = _train("pacgan2", seeds, 20, points, labels)
        assert_member_is_the_lone_run(a, seeds.index(4), b)


def _record(variant, layout, modes, seed, metrics):
    return {"config": {"variant": variant, "layout": layout, "modes": modes, "std": 0.01 if modes == 8 else 0.05,
                       "arch": "pacgan-mlp", "batch_size": 100, "n_train": 100_000, "n_eval": 2_500,
                       "latent_dim": 2, "seed": seed, "preset": "pacgan-2d", "budget": "quick"},
            "status": "ok", "metrics": metrics}


# 97-99 % HQ over 5 runs against 98.2 +- 0.2: valid for any outcome on [0, 100] (a 15 % chance of an
# untrained run at ~0 % goes unseen in 5 runs 44 % of the time), our mean's interval reaches down to ~44:
# undecided, with ~50 seeds to decide it (ganbench.stats' betting interval).
EXPECTED_HQ_VERDICT = "undecided"


def test_the_reproduction_table_gives_intervals_and_verdicts():
    runs = [(6, 0.99, 0.5), (7, 0.97, None), (6, 0.98, 0.4), (7, 0.99, 0.5), (6, 0.97, 0.6)]
    recs = [_record("vanilla", "ring", 8, s, {"modes": m, "hq_fraction": h, "reverse_kl": kl, "n_modes": 8})
            for s, (m, h, kl) in enumerate(runs)]
    cells = compare_cells(get_preset("pacgan-2d"), recs).set_index(["row", "column"])
    t4 = 2.776445105
    modes = cells.loc[("GAN", "ring modes (/8)")]
    assert (modes.ours_mean, modes.n, modes.runs) == (6.4, 5, 5)
    # the table's t-interval
    assert modes.ours_mean - modes.ours_lo == pytest.approx(t4 * math.sqrt(0.3) / math.sqrt(5))
    # a structureless ring captures 8 of 8 modes: no verdict on modes captured there (ganbench.baselines)
    assert modes.verdict == "saturated" and modes.verdict_text.startswith("no verdict: saturated")
    hq = cells.loc[("GAN", "ring HQ %")]
    assert hq.ours_mean == pytest.approx(98.0) and hq.verdict == EXPECTED_HQ_VERDICT
    kl = cells.loc[("GAN", "ring rev-KL")]  # one run had no HQ sample: it counts as ln 8
    assert kl.ours_mean == pytest.approx((2.0 + math.log(8)) / 5) and kl.runs_without_hq_sample == 1
    assert kl.runs_without_value == 0 and kl.n == 5
    assert cells.loc[("ALI", "ring modes (/8)")].runs == 0
    grid = cells.loc[("GAN", "grid modes (/25)")]
    assert grid.n == 0 and pd.isna(grid.ours_mean) and pd.isna(grid.verdict)
    # two runs are too few for any verdict
    two = compare_cells(get_preset("pacgan-2d"), recs[:2]).set_index(["row", "column"])
    assert two.loc[("GAN", "ring HQ %")].verdict == "too few runs"


def test_untrained_image_runs_give_no_class_count_in_the_reproduction_table():
    """Stacked MNIST at a budget where the evaluator is not confident on the samples (the sanity gate,
    ganbench.datasets): "untrained (k of n runs)", no mean, no verdict; a trained run's count stays."""
    from ganbench.reproduction import _sentence
    from ganbench.reproduction_cells import _ours_text

    preset = get_preset("stacked-mnist")
    jobs = [c for c in preset_jobs(preset, "quick") if c.variant == "vanilla"]

    def rec(cfg, untrained, modes):
        return {**cfg.identity(), "id": cfg.run_id, "status": "ok",
                "metrics": {"modes": modes, "kl_to_uniform": 5.0, "untrained": untrained}}

    row = next(r for r in preset.rows if r.variant == "vanilla")
    cells = compare_cells(preset, [rec(c, True, 30 + c.seed) for c in jobs])
    mine = cells[cells["row"] == row.label].set_index("column")
    col = mine.index[0]
    assert pd.isna(mine.at[col, "ours_mean"]) and mine.at[col, "runs_untrained"] == len(jobs)
    assert cells.loc[cells["variant"] == "vanilla", "verdict"].isna().all()
    assert _ours_text(mine, col) == f"untrained ({len(jobs)} of {len(jobs)} runs)"
    assert "untrained at this budget" in _sentence(preset, row, cells)
    # one trained run: its count is the mean, the gated one is said to be left out
    cells = compare_cells(preset, [rec(jobs[0], True, 30), rec(jobs[1], False, 700)])
    mine = cells[cells["row"] == row.label].set_index("column")
    assert mine.at[col, "ours_mean"] == 700 and mine.at[col, "n"] == 1
    assert "were untrained and are left out of those columns' means: its samples fail the sanity gate" in \
        _sentence(preset, row, cells)


def test_untrained_2d_runs_count_in_the_reproduction_table():
    """Issue 25: a 2-D run under 5 % HQ (a line through the ring) stays in its cell: its mode count is what
    its samples give; the failure is a rate elsewhere, not a reason to leave it out."""
    from ganbench.reproduction_cells import _ours_text

    preset = get_preset("pacgan-2d")
    jobs = [c for c in preset_jobs(preset, "quick", seeds=5) if c.variant == "vanilla" and c.layout == "ring"]

    def rec(cfg, hq, modes):
        return {**cfg.identity(), "id": cfg.run_id, "status": "ok",
                "metrics": {"modes": modes, "n_modes": 8, "hq_fraction": hq, "reverse_kl": 0.3},
                "trajectory": {"step": [50, 100], "modes": [modes, modes], "hq_fraction": [hq, hq]}}

    row = next(r for r in preset.rows if r.variant == "vanilla")
    cells = compare_cells(preset, [rec(c, 0.02, 5) for c in jobs[:2]] + [rec(c, 0.9, 8) for c in jobs[2:]])
    cells = cells.set_index(["row", "column"])
    modes, hq = (cells.loc[(row.label, f"ring {t}")] for t in ("modes (/8)", "HQ %"))
    assert modes.n == 5 and modes.ours_mean == pytest.approx((2 * 5 + 3 * 8) / 5) and modes.runs_untrained == 0
    assert hq.n == 5 and hq.ours_mean == pytest.approx((2 * 2 + 3 * 90) / 5)
    assert _ours_text(cells.loc[row.label], "ring modes (/8)").endswith("(n = 5)")


def test_cli_runs_a_preset_and_writes_the_reproduction_report(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--preset", "veegan-2d", "--iters", "12", "--seeds", "2", "--jobs", "1",
                 "--no-progress", "--results", str(out)]) == 0
    recs = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert len(recs) == 4 and {r["config"]["budget"] for r in recs} == {"custom"}
    assert {r["config"]["preset"] for r in recs} == {"veegan-2d"}
    assert recs[0]["variant_params"]["adam"]["lr"] == 1e-3
    text = (out / "REPRODUCTION.md").read_text()
    assert "## `veegan-2d`" in text and "Budget **custom-12**" in text and "| GAN | published | 1.0 | 99.3 |" in text
    assert "ours: `vanilla`" in text and "Not run yet: `ganbench run --preset pacgan-2d" in text
    # published values keep the paper's digits: ALI's ring HQ is 0.13 in a one-decimal column
    assert "| ALI | published | 2.8 | 0.13 | 15.8 | 1.6 |" in text
    assert (out / "tables" / "reproduction_veegan-2d_custom-12.csv").is_file()
    # the trajectories (evaluated at 10 and 12 iterations), one panel per setting in the preset's order
    assert "![trajectories](figures/reproduction_veegan-2d_custom-12_trajectory.png)" in text
    assert (out / "figures" / "reproduction_veegan-2d_custom-12_trajectory.png").stat().st_size > 1000
    assert "only published-protocol (preset) runs" in (out / "REPORT.md").read_text()  # not in the grid's report
    # another custom budget is another table: runs at 10 and at 12 iterations are never averaged together;
    # the tables of a section that no longer exists (an older, pooled 'custom' one) are removed
    stale = [out / "tables" / "reproduction_veegan-2d_custom.csv",
             out / "figures" / "reproduction_veegan-2d_custom_trajectory.png"]
    for path in stale:
        path.write_text("stale")
    assert main(["run", "--preset", "veegan-2d", "--iters", "10", "--seeds", "1", "--jobs", "1",
                 "--no-progress", "--results", str(out)]) == 0
    assert not any(path.exists() for path in stale)
    assert (out / "figures" / "reproduction_veegan-2d_custom-12_trajectory.png").is_file()
    text = (out / "REPRODUCTION.md").read_text()
    assert text.index("### Budget: custom-10\n") < text.index("### Budget: custom-12\n")
    tables = {n: pd.read_csv(out / "tables" / f"reproduction_veegan-2d_custom-{n}.csv") for n in (10, 12)}
    assert tables[10]["n"].max() == 1 and tables[12]["n"].max() == 2


@pytest.mark.parametrize("argv, message", [
    (["--preset", "pacgan-2d", "--modes", "4"], "fixes the grid itself; drop --modes"),
    (["--preset", "tutorial", "--variants", "vanilla", "--dataset", "iris"], "drop --variants, --dataset"),
    (["--budget", "paper"], "--budget needs --preset"),
    (["--preset", "pacgan-2d", "--budget", "huge"], "invalid choice: 'huge'"),
    (["--preset", "nope"], "invalid choice: 'nope'"),
])
def test_bad_preset_options_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    assert main(["run", *argv, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_wgan_gp_takes_gan_toy_settings_on_mixtures_and_presets_keep_their_own():
    """Issue 25: lambda 10 does not train on 2-D rings (results/SENSITIVITY.md); the default grid uses
    gan_toy.py's settings there, images keep Algorithm 1's, and the tutorial preset its own (its ids hold)."""
    from ganbench.config import RunConfig, dataset_config

    for v in ("wgan-gp", "cond-wgan-gp"):
        mix = RunConfig(variant=v, layout="ring", modes=8, seed=0).variant_obj()
        assert mix.gp_lambda == 0.1 and mix.adam == {"lr": 1e-4, "betas": (0.5, 0.9)}
        img = dataset_config(v, "mnist", 0).variant_obj()
        assert img.gp_lambda == 10.0 and img.adam == {"lr": 2e-4, "betas": (0.0, 0.9)}
        tut = next(c for c in preset_jobs(get_preset("tutorial"), "paper") if c.variant == v).variant_obj()
        assert tut.gp_lambda == 10.0 and tut.adam == {"lr": 2e-4, "betas": (0.0, 0.9)}
    assert RunConfig(variant="vanilla", layout="ring", modes=8, seed=0).variant_obj().params()["adam"]["lr"] == 2e-4
