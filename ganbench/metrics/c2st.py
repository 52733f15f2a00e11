"""Classifier two-sample test (Lopez-Paz & Oquab 2017, "Revisiting Classifier Two-Sample Tests").

Label real 0 and fake 1 (equal numbers, n each: the larger set is subsampled), split each class in
halves (stratified: with odd n the extra point of each class goes to training), train a classifier on
the training half and measure its accuracy t on the test half, which holds as many reals as fakes.
Under H0 (same distribution) n_te * t ~ Binomial(n_te, 1/2); the one-sided p-value is
1 - Phi((t - 1/2) / sqrt(1 / (4 n_te))). An unstratified split (shuffle the 2n points, cut in two) gives
test halves with more of one class, and then a k-NN trained on the complement guesses the other class
more often: a mean accuracy of 0.485 under H0 at n = 30 instead of 0.5.
Classifiers: k-NN with k = floor(sqrt(n_train)), or a network with one hidden layer of 20 ReLUs.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr  # the normal CDF (scipy.stats.norm.sf is ndtr(-z), without scipy.stats' import time)

from ganbench.metrics._checks import as_features, check_same_width

CLASSIFIERS = ("knn", "mlp")


def _classifier(name: str, n_train: int, seed: int):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "knn":
        return KNeighborsClassifier(n_neighbors=max(1, math.isqrt(n_train)))
    return make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(20,), max_iter=500,
                                                         early_stopping=False, random_state=seed))


def c2st(real, fake, classifier: str = "knn", seed: int = 0) -> dict:
    """Returns ``{"accuracy", "p_value", "n_test"}``: accuracy near 0.5 and a large p-value when the
    two sets come from one distribution; near 1 and a tiny p-value when a classifier tells them apart."""
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {', '.join(CLASSIFIERS)}, got {classifier!r}")
    r = as_features(real, "real", min_rows=2)
    f = as_features(fake, "fake", min_rows=2)
    check_same_width(r, f)
    rng = np.random.default_rng(seed)
    n = min(len(r), len(f))
    half = (n + 1) // 2  # training points per class: the odd one out trains, so the test stays balanced
    real_sel, fake_sel = r[rng.permutation(len(r))[:n]], f[rng.permutation(len(f))[:n]]
    zeros, ones = np.zeros(n, dtype=int), np.ones(n, dtype=int)
    x_train = np.concatenate([real_sel[:half], fake_sel[:half]])
    y_train = np.concatenate([zeros[:half], ones[:half]])
    order = rng.permutation(2 * half)  # the MLP's minibatches (and k-NN's tie order) see the classes mixed
    x_train, y_train = x_train[order], y_train[order]
    x_test = np.concatenate([real_sel[half:], fake_sel[half:]])
    y_test = np.concatenate([zeros[half:], ones[half:]])
    n_train = 2 * half
    clf = _classifier(classifier, n_train, seed)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train, y_train)
    n_test = 2 * (n - half)
    acc = float((clf.predict(x_test) == y_test).mean())
    p = float(ndtr(-(acc - 0.5) / math.sqrt(1 / (4 * n_test))))
    return {"accuracy": acc, "p_value": p, "n_test": n_test}


def c2st_values(real, fake, seed: int = 0, kid_subsets: int = 100) -> dict:
    """The suite's "c2st" (ganbench.metric_spec): {c2st_accuracy, c2st_p_value} of the k-NN classifier."""
    c = c2st(real, fake, seed=seed)
    return {"c2st_accuracy": c["accuracy"], "c2st_p_value": c["p_value"]}
