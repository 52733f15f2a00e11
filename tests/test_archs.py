"""Image architectures: every variant builds and steps on flat image tensors, and a member of an
ensemble of convolutional networks still trains like the same seed alone."""
import numpy as np
import pytest

from ganbench.archs import IMAGE_ARCHS, get_arch
from ganbench.train import generate, train_ensemble
from ganbench.variants import DEFAULT_VARIANTS, Dims, get_variant


def image_data(channels, n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, channels * 784)).astype(np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_variant_trains_a_step_on_images(arch, channels):
    x, y = image_data(channels)
    dims = Dims(data_dim=channels * 784, latent_dim=16, n_classes=10, arch=arch, image=(channels, 28, 28))
    for name in DEFAULT_VARIANTS:
        v = get_variant(name)
        t = train_ensemble(v, [x], [y], [0], dims, iters=1, batch_size=8)
        out, _ = generate(t.G, [0], 4, dims, v.conditional)
        assert out.shape == (1, 4, channels * 784) and np.abs(out).max() <= 1.0
        assert t.diverged_step == [None]


@pytest.mark.parametrize("arch", ["dcgan", "dcgan-small-d"])
def test_a_conv_ensemble_member_trains_like_the_same_seed_alone(arch):
    x, y = image_data(1)
    dims = Dims(data_dim=784, latent_dim=16, n_classes=10, arch=arch, image=(1, 28, 28))
    v = get_variant("pacgan")
    ens = train_ensemble(v, [x, x, x], [y, y, y], [4, 5, 6], dims, iters=2, batch_size=8)
    alone = train_ensemble(v, [x], [y], [5], dims, iters=2, batch_size=8)
    a, _ = generate(ens.G, [4, 5, 6], 6, dims, False)
    b, _ = generate(alone.G, [5], 6, dims, False)
    # Float tolerance, not bits: convolutions round differently inside a larger batch of work, and
    # Adam's first steps are lr * sign(gradient), so a rounding-level difference in a near-zero gradient
    # moves a weight by up to 2 lr (4e-4) either way.
    np.testing.assert_allclose(a[1], b[0], atol=2e-3)


def test_small_discriminators_have_a_quarter_and_a_half_of_the_generators_channels():
    assert get_arch("dcgan-small-d").channels == [2, 4, 8]
    assert get_arch("dcgan-half-d").channels == [4, 8, 16]
    with pytest.raises(ValueError, match="choose from"):
        get_arch("resnet")
