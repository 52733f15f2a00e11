"""The datasets other than 2-D mixtures: their registry, specs and defaults, their training data and the
evaluation of a run's samples on them. MNIST, Stacked MNIST and Iris are registered here, the others
by their own modules in this folder.

Adding a dataset is one module in this folder (or an installed package's, through the
``ganbench.datasets`` entry-point group) that calls ``register_dataset(name, DatasetDefaults(...))``:
its defaults, and for images the loader of its source images (``source``), from which its training
data and its evaluator (the classifier CNN, trained on the source on first use and cached) come.
No module outside this folder branches on a dataset's name.

``ganbench.ensemble_records`` calls ``training_data`` and ``evaluate`` for a job whose ``layout`` names
one of ``DATASETS`` (instead of a 2-D mixture layout). Images travel flat (C*H*W) in [-1, 1].

Evaluation (per run, on ``n_eval`` generated samples):
- images: the evaluator's label of every image (every channel), the class histogram's entropy, classes
  seen ("modes") and KL to uniform, the classifier score; FID, KID, precision / recall, density /
  coverage, C2ST and diversity in the evaluator's feature space against as many real images.
- Iris: the same distribution metrics on the 4 raw features against the 50 real flowers.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass

import numpy as np

from ganbench.images import IRIS_FEATURES, Digits, iris_setosa, stacked_mnist, to_unit_range

MAX_COMPARED = 5_000  # samples per side for FID / KID / PRDC / C2ST on images
# The sanity gate: a digit is "confident" when the evaluator gives its label at least this probability;
# a run whose share of confident digits is below UNTRAINED_RATIO x the real images' share is untrained
# (colour noise, blobs): its class counts are the evaluator's labels of noise, and the report says
# "untrained" instead of a number.
CONFIDENT = 0.9
UNTRAINED_RATIO = 0.5
N_TSNE = 500  # real and generated samples per side in the report's t-SNE
GRID_SIDE = 5  # the report's sample grid is GRID_SIDE x GRID_SIDE images of a run (its first samples)


@dataclass(frozen=True)
class DatasetDefaults:
    """A dataset other than a 2-D mixture: its defaults and what every other module asks of it."""

    classes: int            # the "modes" of the dataset
    image: tuple | None     # (C, H, W), or None for tables
    data_dim: int
    arch: str
    latent_dim: int
    n_train: int
    n_eval: int
    iters: int              # the default CPU budget, in generator iterations
    batch_size: int = 64
    evaluator: bool = True  # judged by a classifier trained on its source (classes and its features)
    columns: tuple[str, ...] | None = None  # a table's feature names (`ganbench sample` CSV header), in its units
    # images: "module:function" (data_dir, train) -> Digits (uint8 (N, 28, 28), labels), its source images
    source: str = "ganbench.images:load_mnist"
    source_name: str = "MNIST"  # what the report calls the source (and its evaluator)
    stack: int = 1          # source images per sample, one per channel (Stacked MNIST: 3; labels base 10)

    @property
    def features(self) -> str:
        """The feature space of its FID / KID / PRDC / C2ST: the evaluator's, or the raw features."""
        return f"{self.source_name.lower()}-cnn" if self.evaluator else "raw"  # "mnist-cnn": the CNN trained on MNIST


DATASETS: dict[str, DatasetDefaults] = {
    # the DCGAN-style networks; 10 classes; 6,000 iterations: where every variant's runs pass the sanity
    # gate with all ten classes (README, "Where MNIST runs train")
    "mnist": DatasetDefaults(10, (1, 28, 28), 784, "dcgan", 100, 60_000, 10_000, 6_000),
    # Unrolled GAN's small-discriminator setting; VEEGAN / PacGAN evaluate 26,000 samples
    "stacked-mnist": DatasetDefaults(1000, (3, 28, 28), 3 * 784, "dcgan-small-d", 256, 25_600, 26_000, 300,
                                     stack=3),
    # the tutorial's Iris GAN: the 50 setosa flowers, small MLPs
    "iris": DatasetDefaults(1, None, 4, "mlp", 2, 50, 500, 1000, evaluator=False, columns=IRIS_FEATURES),
}
BUILTIN = tuple(DATASETS)
ENTRY_POINTS = "ganbench.datasets"  # an installed package's datasets: modules that call register_dataset


def register_dataset(name: str, defaults: DatasetDefaults) -> None:
    """Add a dataset under ``name`` (a module of this folder or a plugin calls this when imported).
    ValueError for a name taken by another dataset, or a spec that does not hold together."""
    from ganbench.data import LAYOUTS

    if not name or not name.replace("-", "").isalnum() or name != name.lower():
        raise ValueError(f"dataset name {name!r}: use lowercase letters, digits and hyphens")
    if name in LAYOUTS:
        raise ValueError(f"dataset name {name!r} is a mixture layout's")
    if defaults.image is None:  # training_data, the report's histograms and `sample` know Iris's table only
        raise ValueError(f"dataset {name!r}: only image datasets can be registered (image=(C, 28, 28))")
    if tuple(defaults.image[1:]) != (28, 28):
        raise ValueError(f"dataset {name!r}: images must be 28 x 28 (the networks' and the evaluator's size)")
    if name in DATASETS and DATASETS[name] != defaults:
        raise ValueError(f"dataset {name!r} is registered already")
    if int(np.prod(defaults.image)) != defaults.data_dim:
        raise ValueError(f"dataset {name!r}: image {defaults.image} is not data_dim {defaults.data_dim}")
    if defaults.image[0] != defaults.stack or defaults.classes != 10 ** defaults.stack:
        raise ValueError(f"dataset {name!r}: {defaults.stack} stacked source image(s) make {defaults.image[0]} "
                         f"channel(s) and {10 ** defaults.stack} classes")
    DATASETS[name] = defaults


def load_source(dataset: str, data_dir=None, train: bool = True) -> Digits:
    """The source images of an image dataset (its training or test split), from its ``source`` loader."""
    module, function = DATASETS[dataset].source.split(":")
    return getattr(importlib.import_module(module), function)(data_dir, train=train)


def needs_evaluator(layouts) -> bool:
    """Whether jobs on these layouts (datasets or mixtures) read source images and their evaluator."""
    return any(DATASETS[name].evaluator for name in layouts if name in DATASETS)


def training_data(dataset: str, seed: int, n_train: int, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, data_dim) float32 in [-1, 1], labels (N,) int64) for one run."""
    d = DATASETS[dataset]
    if d.image is None:  # Iris, the one table
        x = iris_setosa()
        return x, np.zeros(len(x), dtype=np.int64)
    source = load_source(dataset, data_dir)
    if d.stack == 1:
        idx = np.random.default_rng(seed).permutation(len(source.labels))[:n_train]
        return to_unit_range(source.images[idx]).reshape(len(idx), -1), source.labels[idx].astype(np.int64)
    images, labels = stacked_mnist(source, n_train, seed, k=d.stack)
    return (images.astype(np.float32) / 127.5 - 1.0).reshape(n_train, -1), labels


def load_evaluator(data_dir=None, progress: bool = False, dataset: str = "mnist"):
    """The cached evaluator of ``dataset`` (the classifier CNN trained on its source on first use) and its info."""
    from ganbench.mnist_classifier import load_or_train

    return load_or_train(load_source(dataset, data_dir), load_source(dataset, data_dir, train=False),
                         progress=progress)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def evaluate(dataset: str, fake: np.ndarray, real: np.ndarray, seed: int, kid_subsets: int,
             evaluator=None, evaluator_info: dict | None = None, distribution: bool = True) -> dict:
    """The metrics of one run: ``fake`` and ``real`` are flat samples in [-1, 1]. ``distribution``
    False: classes only, without FID / KID / PRDC / C2ST (the presets' published tables need none)."""
    from ganbench.metrics import class_entropy, classifier_score
    from ganbench.metrics.suite import matched_subset

    if not DATASETS[dataset].evaluator:  # a table: the distribution metrics on its raw features
        return distribution_metrics(dataset, fake, real, seed, kid_subsets)
    real_all, real = real, matched_subset(real, len(fake), seed)
    import torch

    from ganbench.mnist_classifier import batched, predict_with_confidence

    d = DATASETS[dataset]
    shape = (-1, *d.image)
    fake_img, real_img = fake.reshape(shape), real.reshape(shape)
    digits, confidence = predict_with_confidence(evaluator, _to_uint8(fake_img))  # (N, C): per channel
    labels = _classes(digits, d)
    out = class_entropy(labels, d.classes)
    _, real_confidence = predict_with_confidence(evaluator, _to_uint8(real_img[:MAX_COMPARED]))
    out.update(sanity_gate(confidence, real_confidence))
    out["modes"] = out["classes_seen"]
    out["class_histogram"] = np.bincount(labels, minlength=d.classes).tolist()
    probs = batched(lambda t: torch.softmax(evaluator(t), dim=1), fake_img[:, :1].astype(np.float32))
    out["classifier_score"] = classifier_score(probs)  # of the first channel: a 10-class score
    # Classes are counted on all samples (26,000 on Stacked MNIST, as published); the distribution
    # metrics use at most MAX_COMPARED of them: PRDC and C2ST grow with n^2.
    if distribution:
        out.update(distribution_metrics(dataset, fake, real_all, seed, kid_subsets, evaluator))
    if evaluator_info:
        out["evaluator_test_accuracy"] = evaluator_info.get("test_accuracy")
    return out


def distribution_metrics(dataset: str, fake: np.ndarray, real: np.ndarray, seed: int, kid_subsets: int,
                         evaluator=None, metrics=None) -> dict:
    """The metrics layer's ``metrics`` (default: all of them) of one run, on flat samples in [-1, 1]
    against a seeded subset of ``real`` as large as ``fake``: a table's raw features, or the
    evaluator's features of at most MAX_COMPARED images a side (PRDC and C2ST grow with n^2)."""
    from ganbench.metric_spec import SUITE
    from ganbench.metrics import compare
    from ganbench.metrics.suite import compare_matched, matched_subset

    metrics = SUITE if metrics is None else metrics
    d = DATASETS[dataset]
    if not d.evaluator:
        return compare_matched(real, fake, metrics=metrics, seed=seed, kid_subsets=kid_subsets)
    from ganbench.features import mnist_cnn_features

    shape = (-1, *d.image)
    m = min(len(fake), MAX_COMPARED)
    extract = mnist_cnn_features(evaluator)
    real = matched_subset(real, len(fake), seed).reshape(shape)
    return compare(extract(real[:m]), extract(fake.reshape(shape)[:m]), metrics=metrics, seed=seed,
                   kid_subsets=kid_subsets)


TRAJECTORY_SAMPLES = 10_000  # generated images per member at each point of an image run's trajectory
IMAGE_TRAJECTORY = ("modes", "kl_to_uniform", "confident_fraction")  # what each point holds


def _classes(digits: np.ndarray, d: DatasetDefaults) -> np.ndarray:
    """Each sample's class from its per-channel digits: the digit, or on Stacked MNIST the triple as 0..999."""
    return digits @ (10 ** np.arange(d.stack - 1, -1, -1)) if d.stack > 1 else digits[:, 0]


def trajectory_point(dataset: str, fake: np.ndarray, evaluator) -> dict:
    """The class metrics of an image run during training, on flat samples in [-1, 1]: classes seen
    (``modes``), KL of the class histogram to uniform, and the share of confident digits (the sanity
    gate's input)."""
    d = DATASETS[dataset]
    from ganbench.mnist_classifier import predict_with_confidence

    digits, confidence = predict_with_confidence(evaluator, _to_uint8(fake.reshape(-1, *d.image)))
    labels = _classes(digits, d)
    from ganbench.metrics import class_entropy

    c = class_entropy(labels, d.classes)
    return {"modes": c["classes_seen"], "kl_to_uniform": c["kl_to_uniform"],
            "confident_fraction": float((np.asarray(confidence) >= CONFIDENT).mean())}


def sanity_gate(fake_confidence: np.ndarray, real_confidence: np.ndarray) -> dict:
    """The share of confident digits (evaluator probability >= CONFIDENT) among generated and real
    images, and ``untrained``: generated below UNTRAINED_RATIO x real (see CONFIDENT above)."""
    fake_share = float((np.asarray(fake_confidence) >= CONFIDENT).mean())
    real_share = float((np.asarray(real_confidence) >= CONFIDENT).mean())
    return {"confident_fraction": fake_share, "real_confident_fraction": real_share,
            "untrained": bool(fake_share < UNTRAINED_RATIO * real_share)}


def tsne_embedding(dataset: str, fake: np.ndarray, real: np.ndarray, seed: int, evaluator,
                   n: int = N_TSNE) -> np.ndarray:
    """A 2-D t-SNE (scikit-learn) of ``n`` real and ``n`` generated samples in the evaluator's features,
    real first: float16 (2n, 2), for the report's real-vs-generated figure."""
    from sklearn.manifold import TSNE

    from ganbench.features import mnist_cnn_features
    from ganbench.metrics.suite import matched_subset

    n = min(n, len(fake), len(real))
    shape = (-1, *DATASETS[dataset].image)
    real = matched_subset(real, n, seed).reshape(shape)
    feats = mnist_cnn_features(evaluator)(np.concatenate([real, fake[:n].reshape(shape)]))
    perplexity = min(30.0, (2 * n - 1) / 3)  # scikit-learn needs perplexity < number of points
    emb = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(feats)
    return emb.astype(np.float16)


def sample_images(fake: np.ndarray, dataset: str, n: int = GRID_SIDE ** 2) -> np.ndarray | None:
    """The first ``n`` generated images as uint8 (n, C, 28, 28) for the report's grids (by default the
    sample grid's, which is all a record keeps of them), or None for tables."""
    d = DATASETS[dataset]
    if d.image is None:
        return None
    return _to_uint8(fake[:n].reshape(-1, *d.image))


def _discover() -> None:
    """Import every module of this folder and every ``ganbench.datasets`` entry point: each registers its
    datasets. A plugin that fails is left out with one line on stderr (it must not stop ganbench)."""
    from importlib.metadata import entry_points

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    for ep in entry_points(group=ENTRY_POINTS):
        try:
            ep.load()
        except Exception as e:  # noqa: BLE001 - someone else's code: say it, go on
            print(f"ganbench: warning: dataset plugin {ep.name!r} ({ep.value}) left out: "
                  f"{e.__class__.__name__}: {e}", file=sys.stderr)


_discover()
