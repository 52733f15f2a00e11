"""The MNIST evaluator: a small CNN that labels digits (and each channel of Stacked MNIST) and whose
penultimate layer is the feature space for FID, KID, precision/recall, density/coverage and C2ST on
MNIST. Trained by ganbench, deterministically, and cached on disk under a hash of its recipe and of the
training data, so it is trained once per machine.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ganbench.images import Digits, cache_dir, to_unit_range

FEATURE_DIM = 128


class MNISTClassifier(nn.Module):
    """conv 32 - pool - conv 64 - pool - fc 128 (features) - fc 10, dropout 0.25 before each fc layer.
    Input (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURE_DIM, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


@dataclass(frozen=True)
class Recipe:
    """Everything that determines the trained evaluator (with the training data's fingerprint)."""

    arch: str = "mnist-cnn/2"
    epochs: int = 5
    lr_decay: float = 0.7  # per epoch
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0


def data_fingerprint(d: Digits) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(d.images).tobytes())
    h.update(np.ascontiguousarray(d.labels).tobytes())
    return h.hexdigest()[:16]


def recipe_key(recipe: Recipe, train: Digits) -> str:
    blob = json.dumps({**asdict(recipe), "data": data_fingerprint(train)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray, batch: int = 1000,
            device: str | torch.device = "cpu") -> np.ndarray:
    """Apply ``fn`` to float32 images in batches; numpy in, numpy out."""
    out = [fn(torch.from_numpy(np.ascontiguousarray(x[i:i + batch])).to(device)).cpu().numpy()
           for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0,))


def accuracy(model: MNISTClassifier, d: Digits, device="cpu") -> float:
    model.eval()
    pred = batched(model, to_unit_range(d.images), device=device).argmax(1)
    return float((pred == d.labels).mean())


def train_evaluator(train: Digits, recipe: Recipe = Recipe(), device: str | torch.device = "cpu",
                    max_steps: int | None = None, progress: bool = False) -> MNISTClassifier:
    """Adam on cross-entropy, shuffled with the recipe's seed; ``max_steps`` stops early (tests)."""
    with torch.random.fork_rng(devices=[]):  # initial weights and dropout masks from the recipe's seed
        torch.manual_seed(recipe.seed)
        return _train(train, recipe, device, max_steps, progress)


def _train(train: Digits, recipe: Recipe, device, max_steps: int | None, progress: bool) -> MNISTClassifier:
    from tqdm import tqdm

    gen = torch.Generator().manual_seed(recipe.seed)
    model = MNISTClassifier().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    x = torch.from_numpy(to_unit_range(train.images))
    y = torch.from_numpy(train.labels)
    steps_per_epoch = -(-len(x) // recipe.batch_size)
    total = recipe.epochs * steps_per_epoch if max_steps is None else min(max_steps, recipe.epochs * steps_per_epoch)
    bar = tqdm(total=total, desc="training the evaluator", unit="step", disable=not progress)
    step = 0
    model.train()
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=recipe.lr_decay)
    for _ in range(recipe.epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), recipe.batch_size):
            if step >= total:
                break
            idx = order[i:i + recipe.batch_size]
            loss = nn.functional.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            bar.update()
        sched.step()
    bar.close()
    model.eval()
    return model


def load_or_train(train: Digits, test: Digits, recipe: Recipe = Recipe(), cache: Path | None = None,
                  device: str | torch.device = "cpu", progress: bool = True) -> tuple[MNISTClassifier, dict]:
    """The cached evaluator for this recipe and training set, trained (and cached) if missing.
    Returns the model and its info: recipe, key, test accuracy, data source."""
    from ganbench.files import write_atomic, write_text_atomic

    path = Path(cache or cache_dir()) / "evaluators" / f"mnist-cnn-{recipe_key(recipe, train)}.pt"
    if path.is_file():
        try:
            info = json.loads(path.with_suffix(".json").read_text())
            blob = torch.load(path, map_location=device, weights_only=True)
            model = MNISTClassifier().to(device)
            model.load_state_dict(blob["state_dict"])
            model.eval()
            return model, info
        except (OSError, ValueError, KeyError, RuntimeError, EOFError):
            pass  # an incomplete or damaged cache entry: train again and overwrite it
    model = train_evaluator(train, recipe, device=device, progress=progress)
    info = {"recipe": asdict(recipe), "key": path.stem, "test_accuracy": accuracy(model, test, device),
            "train_source": train.source, "n_train": int(len(train.labels)), "n_test": int(len(test.labels))}
    # The info first, the weights last: a weights file present means both are complete.
    write_text_atomic(path.with_suffix(".json"), json.dumps(info, indent=1))
    write_atomic(path, lambda f: torch.save({"state_dict": model.state_dict()}, f), binary=True)
    return model, info


def predict_digits(model: MNISTClassifier, images: np.ndarray, device="cpu") -> np.ndarray:
    """Digit labels of uint8 images: (N, 28, 28) -> (N,), or one per channel: (N, C, 28, 28) -> (N, C)."""
    model.eval()
    if images.ndim == 3:
        return batched(model, to_unit_range(images), device=device).argmax(1)
    return np.stack([predict_digits(model, images[:, c], device) for c in range(images.shape[1])], axis=1)


def predict_with_confidence(model: MNISTClassifier, images: np.ndarray, device="cpu") -> tuple[np.ndarray, np.ndarray]:
    """(digit, softmax probability of that digit) of every channel of uint8 images (N, C, 28, 28):
    two (N, C) arrays; the digits are ``predict_digits``'s."""
    model.eval()
    digits, confidence = [], []
    for c in range(images.shape[1]):
        probs = batched(lambda t: torch.softmax(model(t), dim=1), to_unit_range(images[:, c]), device=device)
        digits.append(probs.argmax(1))
        confidence.append(probs.max(1))
    return np.stack(digits, axis=1), np.stack(confidence, axis=1)


def stacked_labels(model: MNISTClassifier, images: np.ndarray, device="cpu") -> np.ndarray:
    """Stacked-MNIST class (0..999) of each (N, 3, 28, 28) image: the evaluator's digit per channel."""
    d = predict_digits(model, images, device)
    return d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
