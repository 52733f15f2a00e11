"""Published protocols as named presets: ``ganbench run --preset NAME [--budget paper|quick]``.

A preset fixes everything a paper fixes (data, networks, optimiser, batch, evaluation, seeds) and
carries the paper's own table, so that the report (``ganbench.reproduction``) can put our numbers
beside the published ones. Constants: the papers and their official code, named in each preset's
``source`` (docs/sources.md says where the data's own come from). A preset is never tuned to match a
number: where our setup differs from the paper's, ``differences`` says how.

Budgets: ``paper`` is the published number of generator iterations (and of seeds); ``quick`` is a
reduced one that fits a 2-core CPU in minutes. Records carry the budget's name in their config.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ganbench.variants import Variant

BUDGETS = ("paper", "quick")
BUDGET_ORDER = (*BUDGETS, "custom")  # what a record's budget says: "custom" where --seeds / --iters replaced it


@dataclass(frozen=True)
class Budget:
    iters: int | dict[str, int]   # generator iterations; a dict: per variant (with a "*" default)
    seeds: int

    def iters_for(self, variant: str) -> int:
        return self.iters if isinstance(self.iters, int) else self.iters.get(variant, self.iters["*"])


@dataclass(frozen=True)
class Setting:
    """One data / network configuration of a preset (a table's group of columns)."""

    name: str
    config: dict                  # RunConfig fields: layout, modes, std, scale, arch, batch_size, ...
    variants: tuple[str, ...]     # ours that run on it


@dataclass(frozen=True)
class Column:
    title: str                    # as in the paper
    setting: str                  # Setting.name
    metric: str                   # key of a record's metrics
    factor: float = 1.0           # 100 for a percentage
    decimals: int = 2


@dataclass(frozen=True)
class Row:
    """A row of the published table: its label, our variant (None: not in ganbench) and the published
    values by column title, each (mean, standard error or None)."""

    label: str
    variant: str | None
    published: dict[str, tuple[float, float | None]]


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    source: str
    settings: tuple[Setting, ...]
    budgets: dict[str, Budget]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    overrides: dict[str, dict] = field(default_factory=dict)  # variant ("*": all) -> hyperparameters
    differences: tuple[str, ...] = ()   # how our setup differs from the paper's, stated once
    published_note: str = ""

    def variant(self, name: str) -> Variant:
        from ganbench.variants import get_variant  # torch: not needed to list the presets

        base = get_variant(name)
        overrides = {**self.overrides.get("*", {}), **self.overrides.get(name, {})}
        return base.with_overrides(**overrides) if overrides else base

    def setting_of(self, config: dict) -> str | None:
        """The name of the setting a record's config belongs to."""
        for s in self.settings:
            if all(config.get(k) == v for k, v in s.config.items()):
                return s.name
        return None


# --- the presets ---------------------------------------------------------------------------------

_RING = {"layout": "ring", "modes": 8, "std": 0.01}
_GRID = {"layout": "grid", "modes": 25, "std": 0.05}
_PACGAN_2D = {"arch": "pacgan-mlp", "batch_size": 100, "n_train": 100_000, "n_eval": 2_500, "latent_dim": 2}
_PACS = ("vanilla", "pacgan2", "pacgan3", "pacgan4")


def _cols(setting: str, spec: list[tuple[str, str, float, int]]) -> list[Column]:
    return [Column(title, setting, metric, factor, decimals) for title, metric, factor, decimals in spec]


def _mode_cols(setting: str, n: int, kl: bool = True) -> list[Column]:
    spec = [(f"{setting} modes (/{n})", "modes", 1.0, 1), (f"{setting} HQ %", "hq_fraction", 100.0, 1)]
    if kl:
        spec.append((f"{setting} rev-KL", "reverse_kl", 1.0, 2))
    return _cols(setting, spec)


def _published(columns: list[Column], *values) -> dict:
    """Published values in column order; a value is (mean, se), a bare mean, or None (not published)."""
    out = {}
    for col, v in zip(columns, values, strict=False):
        if v is not None:
            out[col.title] = v if isinstance(v, tuple) else (v, None)
    return out


_pac_cols = _mode_cols("ring", 8) + _mode_cols("grid", 25)
PACGAN_2D = Preset(
    name="pacgan-2d",
    title="PacGAN 2D-ring and 2D-grid (Lin et al. 2018, Table 1)",
    source=("Lin, Khetan, Fanti, Oh, \"PacGAN: The power of two samples in generative adversarial networks\", "
            "NeurIPS 2018, arXiv:1712.04086; code https://github.com/fjxmlzn/PacGAN "
            "(synthetic_data_experiments: config.py, pacgan_task.py)"),
    settings=(Setting("ring", {**_RING, **_PACGAN_2D}, _PACS), Setting("grid", {**_GRID, **_PACGAN_2D}, _PACS)),
    # 400 epochs over 100,000 points at batch 100; 10 trials
    budgets={"paper": Budget(400_000, 10), "quick": Budget(1_000, 3)},
    overrides={"*": {"adam": {"lr": 1e-4, "betas": (0.8, 0.999)}}},
    columns=tuple(_pac_cols),
    # each row: the ring's three columns, then the grid's
    rows=(Row("GAN", "vanilla", _published(_pac_cols, (6.3, .5), (98.2, .2), (.45, .09),
                                           (17.3, .8), (94.8, .7), (.70, .07))),
          Row("ALI", None, _published(_pac_cols, (6.6, .3), (97.6, .4), (.36, .04),
                                      (24.1, .4), (95.7, .6), (.14, .03))),
          Row("PacGAN2", "pacgan2", _published(_pac_cols, (7.9, .1), (95.6, 2.), (.07, .03),
                                               (23.8, .7), (91.3, .8), (.13, .04))),
          Row("PacGAN3", "pacgan3", _published(_pac_cols, (7.8, .1), (97.7, .3), (.10, .02),
                                               (24.6, .4), (94.2, .4), (.06, .02))),
          Row("PacGAN4", "pacgan4", _published(_pac_cols, (7.8, .1), (95.9, 1.4), (.07, .02),
                                               (24.8, .2), (93.6, .6), (.04, .01)))),
    differences=("The hidden generator layers have a bias before BatchNorm (PacGAN's have none); BatchNorm "
                 "cancels it, so the networks compute the same functions.",
                 "Training points are drawn once per seed (100,000), as in PacGAN; batches are drawn with "
                 "replacement rather than in epochs.",
                 "PacGAN's code updates D and G simultaneously (one session run: G's step sees D before its "
                 "update); ours steps D, then G against the updated D with fresh noise.",
                 "Our generator runs twice per iteration in training mode (D's fakes, then G's step), so its "
                 "BatchNorm running statistics (used at evaluation) are updated twice per iteration, each over "
                 "100 x m samples for PacGANm; PacGAN's are updated once per step."),
    published_note="mean +- standard error over 10 trials",
)

_vee_cols = _mode_cols("ring", 8, kl=False) + _mode_cols("grid", 25, kl=False)
_VEEGAN_2D = {"arch": "veegan-mlp", "batch_size": 500, "n_train": 100_000, "n_eval": 2_500, "latent_dim": 254}
VEEGAN_2D = Preset(
    name="veegan-2d",
    title="VEEGAN 2D ring and grid (Srivastava et al. 2017, Table 1)",
    source="Srivastava, Valkov, Russell, Gutmann, Sutton, \"VEEGAN\", NeurIPS 2017, arXiv:1705.07761 (evaluation, "
           "5 runs, published numbers); networks and optimiser from unofficial ports of the VEEGAN 2-D notebook "
           "(the official file is not in our reference copy)",
    settings=(Setting("ring", {**_RING, **_VEEGAN_2D}, ("vanilla",)),
              Setting("grid", {**_GRID, **_VEEGAN_2D}, ("vanilla",))),
    budgets={"paper": Budget(100_000, 5), "quick": Budget(3_000, 5)},  # paper: 100 epochs x 1,000 iterations
    overrides={"*": {"adam": {"lr": 1e-3, "betas": (0.5, 0.999)}}},
    columns=tuple(_vee_cols),
    rows=(Row("GAN", "vanilla", _published(_vee_cols, 1, 99.3, 3.3, 0.5)),
          Row("ALI", None, _published(_vee_cols, 2.8, 0.13, 15.8, 1.6)),
          Row("Unrolled GAN", None, _published(_vee_cols, 7.6, 35.6, 23.6, 16)),
          Row("VEEGAN", None, _published(_vee_cols, 8, 52.9, 24.6, 40))),
    differences=("VEEGAN does not publish its GAN baseline's networks; we use the VEEGAN notebook's sizes "
                 "(G 2 x 128, D 1 x 128 ReLU, 254-d noise, Adam 1e-3 beta1 0.5, batch 500) as unofficial "
                 "ports give them, and PacGAN's ring and grid (radius 1, std 0.01; spacing 2, std 0.05), "
                 "which PacGAN took from VEEGAN.",),
    published_note="means over 5 runs; no standard errors published",
)

_toy_cols = _mode_cols("8 Gaussians", 8) + _mode_cols("25 Gaussians", 25)
_TOY = {"batch_size": 256, "n_train": 100_000, "n_eval": 2_500, "latent_dim": 2, "hidden": 512, "depth": 3}
WGAN_GP_TOY = Preset(
    name="wgan-gp-toy",
    title="WGAN-GP toy script, 8 and 25 Gaussians (Gulrajani et al. 2017, gan_toy.py)",
    source=("Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville, \"Improved Training of Wasserstein GANs\", "
            "NeurIPS 2017, arXiv:1704.00028; https://github.com/igul222/improved_wgan_training (gan_toy.py)"),
    settings=(
        # centres on the unit circle times 2, std 0.02, all divided by 1.414
        Setting("8 Gaussians", {"layout": "ring", "modes": 8, "scale": 2 / 1.414, "std": 0.02 / 1.414, **_TOY},
                ("wgan-gp",)),
        # the grid {-4..4} step 2, std 0.05, divided by 2.828
        Setting("25 Gaussians", {"layout": "grid", "modes": 25, "scale": 1 / 2.828, "std": 0.05 / 2.828, **_TOY},
                ("wgan-gp",))),
    budgets={"paper": Budget(100_000, 5), "quick": Budget(300, 3)},
    overrides={"wgan-gp": {"adam": {"lr": 1e-4, "betas": (0.5, 0.9)}, "gp_lambda": 0.1}},
    columns=tuple(_toy_cols),
    rows=(Row("WGAN-GP", "wgan-gp", {}),),
    differences=("gan_toy.py draws fresh 8-Gaussian points for every batch; we draw 100,000 once per seed.",
                 "gan_toy.py initialises with He init; we use PyTorch's default (uniform +-1/sqrt(fan_in)).",
                 "The script is run once and publishes figures, not numbers: the seed count (5) is ours."),
    published_note="no numbers published (the script draws figures); our numbers stand alone",
)

_sm_cols = _cols("stacked MNIST", [("modes (/1000)", "modes", 1.0, 1), ("KL", "kl_to_uniform", 1.0, 2)])
STACKED_MNIST = Preset(
    name="stacked-mnist",
    title="Stacked MNIST, the VEEGAN / PacGAN setting (PacGAN Table 2, VEEGAN Table 2)",
    source=("PacGAN (arXiv:1712.04086) Table 2 and VEEGAN (arXiv:1705.07761) Table 2; code "
            "https://github.com/fjxmlzn/PacGAN (stacked_MNIST_experiments/VEEGAN_experiment/config.py)"),
    settings=(Setting("stacked MNIST", {"layout": "stacked-mnist", "modes": 1000, "arch": "dcgan", "latent_dim": 100,
                                        "batch_size": 64, "n_train": 128_000, "n_eval": 26_000}, _PACS),),
    # 50 epochs over 128,000 images at batch 64
    budgets={"paper": Budget(100_000, 10), "quick": Budget(300, 2)},
    columns=tuple(_sm_cols),
    rows=(Row("DCGAN (VEEGAN's table)", "vanilla", _published(_sm_cols, 99, 3.40)),
          Row("ALI", None, _published(_sm_cols, 16, 5.40)),
          Row("Unrolled GAN", None, _published(_sm_cols, 48.7, 4.32)),
          Row("VEEGAN", None, _published(_sm_cols, 150, 2.95)),
          Row("DCGAN (PacGAN's)", "vanilla", _published(_sm_cols, (78.9, 6.46), (4.50, .127))),
          Row("PacDCGAN2", "pacgan2", _published(_sm_cols, (1000.0, 0.0), (0.06, .003))),
          Row("PacDCGAN3", "pacgan3", _published(_sm_cols, 1000, 0.06)),
          Row("PacDCGAN4", "pacgan4", _published(_sm_cols, 1000, 0.07))),
    differences=("Our DCGAN has half the usual widths and fewer layers (G: linear to 7x7x64, two transposed "
                 "convolutions 64-32-C; D: two strided convolutions 32-64, no BatchNorm in D); PacGAN's is "
                 "DCGAN-tensorflow's (gf_dim = df_dim = 64, G from 4x4 through three deconvolutions, D four "
                 "convolutions with BatchNorm).",
                 "DCGAN initialises weights N(0, 0.02); ours keep PyTorch's default initialisation.",
                 "Our generator's BatchNorm running statistics are updated twice per iteration (D's fakes and "
                 "G's step).",
                 "PacGAN's code updates the generator twice per discriminator step and draws z ~ U(-1, 1); "
                 "we update it once and draw z ~ N(0, I).",
                 "Our MNIST is the 60,000 training digits; PacGAN stacks the 70,000 of train and test."),
    published_note="PacGAN rows: mean +- standard error over 10 trials; VEEGAN rows: means over 5 runs",
)

_SMALL = {"layout": "stacked-mnist", "modes": 1000, "latent_dim": 256, "batch_size": 128, "n_train": 128_000,
          "n_eval": 25_600}
_sd_cols = (_cols("D = 1/4 G", [("D=1/4G modes", "modes", 1.0, 1), ("D=1/4G KL", "kl_to_uniform", 1.0, 2)])
            + _cols("D = 1/2 G", [("D=1/2G modes", "modes", 1.0, 1), ("D=1/2G KL", "kl_to_uniform", 1.0, 2)]))
STACKED_MNIST_SMALL_D = Preset(
    name="stacked-mnist-small-d",
    title="Stacked MNIST with small discriminators, the Unrolled-GAN setting (PacGAN Table 3)",
    source=("PacGAN (arXiv:1712.04086) Table 3, after Metz et al., \"Unrolled GANs\", ICLR 2017, arXiv:1611.02163; "
            "code https://github.com/fjxmlzn/PacGAN (stacked_MNIST_experiments/unrolled_GAN_experiment)"),
    settings=(Setting("D = 1/4 G", {**_SMALL, "arch": "dcgan-small-d"}, _PACS),
              Setting("D = 1/2 G", {**_SMALL, "arch": "dcgan-half-d"}, ("vanilla", "pacgan2", "pacgan3"))),
    # one epoch of 500,000 x 128 generated stacks at batch 128; 50 trials
    budgets={"paper": Budget(500_000, 50), "quick": Budget(300, 2)},
    overrides={"*": {"adam": {"lr": 1e-4, "betas": (0.5, 0.99)}, "adam_d": {"lr": 2e-4, "betas": (0.5, 0.99)}}},
    columns=tuple(_sd_cols),
    rows=(Row("DCGAN", "vanilla", _published(_sd_cols, (78.5, 17.56), 5.21, 487.7, 2.24)),
          Row("PacDCGAN2", "pacgan2", _published(_sd_cols, 484.5, 2.61, 840.7, 1.00)),
          Row("PacDCGAN3", "pacgan3", _published(_sd_cols, 601.3, 2.00, 866.6, 0.90)),
          Row("PacDCGAN4", "pacgan4", _published(_sd_cols, 667.4, 1.81)),
          Row("Unrolled GAN, 10 steps", None, _published(_sd_cols, 327.2, 4.66))),
    differences=("PacGAN's code stacks a fresh triple of digits for every training image (500,000 x 128 of "
                 "them); we draw 128,000 stacks once per seed.",
                 "Our generator has no BatchNorm after its first (linear) layer, which the Unrolled-GAN "
                 "generator has; its three deconvolutions do have one.",
                 "Weights keep PyTorch's default initialisation, not DCGAN's N(0, 0.02).",
                 "Our generator's BatchNorm running statistics are updated twice per iteration (D's fakes and "
                 "G's step)."),
    published_note="means over 50 trials (PacGAN gives one standard error: DCGAN modes at D = 1/4 G)",
)

_TUT = {"n_train": 10_000, "batch_size": 128, "latent_dim": 2, "n_eval": 10_000}  # it judges 10,000 samples
_TUT_VARIANTS = ("vanilla", "wgan-gp", "cond-wgan-gp")
_tut_settings = tuple(Setting(f"blobs {m}", {"layout": "blobs", "modes": m, **_TUT}, _TUT_VARIANTS) for m in (4, 8)) \
    + tuple(Setting(f"ring {m}", {"layout": "ring", "modes": m, **_TUT}, _TUT_VARIANTS) for m in (4, 8, 16, 32))
_tut_cols = [Column(f"{s.name} coverage %", s.name, "kmeans_coverage", 100.0, 0) for s in _tut_settings]
_CLAIMS = {"vanilla": (75, 50, 30, 15), "wgan-gp": (100, 88, 70, 45), "cond-wgan-gp": (100, 100, 95, 80)}


def _claim(variant: str) -> dict:
    """Each claim once: 4 and 8 modes on the tutorial's own blobs, 16 and 32 on rings (blobs stop at 9);
    the ring 4 and 8 columns show ours beside no claim."""
    by_modes = dict(zip((4, 8, 16, 32), _CLAIMS[variant], strict=True))
    return {c.title: (float(by_modes[m]), None) for c in _tut_cols
            if (m := int(c.setting.split()[1])) and (c.setting.startswith("blobs") or m > 9)}


TUTORIAL = Preset(
    name="tutorial",
    title="The tutorial's mode-coverage table (no source found for it)",
    source=("a Chinese-language tutorial on WGAN-GP, conditional generation and mode collapse, section 11 "
            "(its code: make_blobs centres on a 3 x 3 grid scaled into [-0.9, 0.9], std 0.5 before scaling, "
            "10,000 points, batch 128, 500 epochs, 3 x 128 ReLU MLPs, Adam 2e-4; coverage: KMeans centres "
            "of the real data, covered if a sample lies within 0.1). The tutorial is not part of this "
            "repository; these facts are all that ganbench takes from it"),
    settings=_tut_settings,
    # 500 epochs of 10,000 points at batch 128 = 79 batches an epoch, 39,500 in all; the WGAN-GP
    # generators step at batches 0, 5, ..., 75 of each epoch (i % 5 == 0): 16 x 500 = 8,000
    # 10 seeds at the paper budget (the tutorial states none): enough for its claims to get a verdict
    budgets={"paper": Budget({"*": 39_500, "wgan-gp": 8_000, "cond-wgan-gp": 8_000}, 10),
             "quick": Budget(1_500, 3)},
    columns=tuple(_tut_cols),
    rows=tuple(Row(label, v, _claim(v)) for label, v in
               (("vanilla GAN", "vanilla"), ("WGAN-GP", "wgan-gp"), ("conditional WGAN-GP", "cond-wgan-gp"))),
    differences=("The tutorial's layout has 9 centres, so its 16 and 32-mode claims are tested on rings "
                 "(radius 1, std 0.01), and 4 and 8 modes on both. On rings the generator's output is linear "
                 "(ring points reach radius 1.03, past tanh's range); on blobs it ends in tanh, as the tutorial's.",
                 "The tutorial's conditional WGAN-GP generator step draws new noise for the labels of the batch "
                 "its critic just saw; ours does the same with the last of its 5 critic batches. Its vanilla "
                 "generator step reuses the discriminator step's noise; ours draws anew.",
                 "The tutorial draws its blobs once (make_blobs random_state 42); ours are drawn with each "
                 "run's seed, so seeds vary the data as well as the training.",
                 "The tutorial runs once; the seed count (10 at its budget) is ours.",
                 "Its WGAN-GP settings are kept (lambda 10, Adam 2e-4 betas (0, 0.9), as WGAN-GP's Algorithm 1). On "
                 "2-D rings they do not train at small budgets: in the sensitivity panel (results/SENSITIVITY.md, "
                 "1,000 iterations) every lambda-10 WGAN-GP run ends untrained, while lambda 0.1 or 1 trains with "
                 "either optimiser. So its WGAN-GP row measures these settings, not WGAN-GP; the default grid "
                 "(REPORT.md) uses gan_toy.py's lambda 0.1 and Adam 1e-4 betas (0.5, 0.9) on mixtures."),
    published_note="the tutorial's claim (one number per cell, no runs or seeds stated); each claim is set "
                   "once, beside the blobs columns at 4 and 8 modes (the tutorial's own layout) and the ring "
                   "columns at 16 and 32",
)

_mg_cols = _cols("MNIST", [("classes (/10)", "modes", 1.0, 1), ("KL to uniform", "kl_to_uniform", 1.0, 3),
                           ("confident %", "confident_fraction", 100.0, 1)])
MNIST_GAN = Preset(
    name="mnist-gan",
    title="The tutorial's MNIST GAN: an MLP generator and discriminator (docs/sources.md section 2)",
    source=("the Chinese-language tutorial this project started from (mnist-gan.txt), after the PyTorch-GAN "
            "collection's gan.py (https://github.com/eriklindernoren/PyTorch-GAN, implementations/gan/gan.py)"),
    settings=(Setting("MNIST", {"layout": "mnist", "modes": 10, "arch": "mnist-mlp", "latent_dim": 100,
                                "batch_size": 64, "n_train": 60_000, "n_eval": 10_000}, ("vanilla",)),),
    # 50 epochs over the 60,000 digits at batch 64 (938 batches an epoch), trained once
    budgets={"paper": Budget(46_900, 1), "quick": Budget(3_000, 5)},
    overrides={"vanilla": {"adam": {"lr": 2e-4, "betas": (0.5, 0.999)}}},
    columns=tuple(_mg_cols),
    rows=(Row("the tutorial's GAN", "vanilla", {}),),
    differences=("The tutorial saves its generator after 50 epochs and shows sample grids; it publishes no "
                 "number: classes seen, KL to uniform and the confident share are our evaluator's.",
                 "The tutorial's last batch of an epoch is smaller (60,000 = 937 x 64 + 32); ours are all 64.",
                 "One run in the tutorial; the quick budget has 5 seeds."),
    published_note="no numbers published (the tutorial shows sample grids); our numbers stand alone",
)

PRESETS: dict[str, Preset] = {p.name: p for p in (PACGAN_2D, VEEGAN_2D, WGAN_GP_TOY, STACKED_MNIST,
                                                  STACKED_MNIST_SMALL_D, TUTORIAL, MNIST_GAN)}


# --- our own experiments, run with the preset machinery (no published table: they stay out of
# REPRODUCTION.md and have their own report) -------------------------------------------------------

def _sensitivity_settings() -> tuple[Setting, ...]:
    """Each hyperparameter setting of the panel, at 8 and 32 modes. Every setting states every
    hyperparameter it varies (lambda and the optimiser), so its runs' ids hold if a default changes."""
    from ganbench.hparams import hparams_json, hparams_label

    ours = {"lr": 2e-4, "betas": [0.0, 0.9]}      # the WGAN-GP class's own (Algorithm 1's betas)
    gan_toy = {"lr": 1e-4, "betas": [0.5, 0.9]}   # gan_toy.py's
    cells: list[tuple[dict, tuple[str, ...]]] = []
    for lam in (0.1, 1.0, 10.0):
        for name, adam in (("ours", ours), ("gan_toy", gan_toy)):
            # conditional WGAN-GP: every lambda with gan_toy's optimiser, and lambda 10 with ours
            both = name == "gan_toy" or lam == 10.0
            cells.append(({"gp_lambda": lam, "adam": adam}, ("wgan-gp", "cond-wgan-gp") if both else ("wgan-gp",)))
    for lr in (1e-4, 2e-4, 1e-3):
        cells.append(({"adam": {"lr": lr, "betas": [0.5, 0.999]}}, ("vanilla", "minibatch", "pacgan")))
    out = []
    for modes in (8, 32):
        for hparams, variants in cells:
            text = hparams_json(hparams)
            out.append(Setting(f"ring {modes}, {hparams_label(text)}",
                               {**_SENSITIVITY_DATA, "modes": modes, "hparams": text}, variants))
    return tuple(out)


# the default grid's ring and networks, stated in full: 3 x 128 MLPs, batch 128, 10,000 points, 2-d noise
_SENSITIVITY_DATA = {"layout": "ring", "std": 0.01, "batch_size": 128, "n_train": 10_000, "n_eval": 2_500,
                     "latent_dim": 2, "hidden": 128, "depth": 3}
SENSITIVITY_2D = Preset(
    name="sensitivity-2d",
    title="Hyperparameter sensitivity on 2-D rings (ours: an equal small tuning budget per variant)",
    source=("ours, after Lucic, Kurach, Michalski, Gelly, Bousquet, \"Are GANs Created Equal? A Large-Scale "
            "Study\", NeurIPS 2018, arXiv:1711.10337 (the spread over settings as well as over seeds); the "
            "gan_toy optimiser and lambda 0.1 from https://github.com/igul222/improved_wgan_training (gan_toy.py)"),
    settings=_sensitivity_settings(),
    budgets={"paper": Budget(5_000, 5), "quick": Budget(1_000, 5)},
    columns=(),
    rows=(),
    published_note="nothing published: our own experiment (results/SENSITIVITY.md)",
)
EXPERIMENTS: dict[str, Preset] = {SENSITIVITY_2D.name: SENSITIVITY_2D}
ALL_PRESETS: dict[str, Preset] = {**PRESETS, **EXPERIMENTS}  # what `ganbench run --preset` takes


def get_preset(name: str) -> Preset:
    try:
        return ALL_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: choose from {', '.join(ALL_PRESETS)}") from None


def preset_variant(preset: str, variant: str) -> Variant:
    return get_preset(preset).variant(variant)
