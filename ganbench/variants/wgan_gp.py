"""wgan-gp: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1):
lambda 10, 5 critic steps per generator step, Adam 2e-4 with betas (0, 0.9) on images.

On 2-D mixtures (the default grid) it takes the settings of the paper's own toy script, gan_toy.py:
lambda 0.1, Adam 1e-4 with betas (0.5, 0.9). With Algorithm 1's lambda 10 it does not train on 2-D rings
at all (final HQ 0-3 % in every run of the sensitivity panel, results/SENSITIVITY.md), which says
nothing about WGAN-GP and mode collapse; with lambda 0.1 it does. Presets keep their own settings."""
from ganbench.variants.base import HParam, Variant


class WGANGP(Variant):
    name = "wgan-gp"
    rank, default_grid = 1, True
    hyperparameters = {"gp_lambda": HParam("float", maximum=1e6)}
    n_critic = 5
    critic_step_cost = 1.0  # the gradient penalty's double backward: 5 critic steps + G ~ 5.4 vanilla iterations
    adam = {"lr": 2e-4, "betas": (0.0, 0.9)}
    gp_lambda = 10.0
    mixture_overrides = {"gp_lambda": 0.1, "adam": {"lr": 1e-4, "betas": (0.5, 0.9)}}  # gan_toy.py

    def discriminator(self, gens, dims, feature_layer=None):
        from ganbench.nets import first_order_activations  # torch: see ganbench.variants.base

        # The penalty differentiates the critic twice; its ReLUs' second derivative is 0, and this skips
        # PyTorch's backward pass of those zeros (the same gradients: 6 of a critic step's 25 batched
        # matrix products saved).
        return first_order_activations(super().discriminator(gens, dims, feature_layer))

    def d_loss(self, D, real, fake, real_labels, fake_labels, gens):
        from ganbench.losses import gradient_penalty, wgan_d_loss  # torch: see ganbench.variants.base

        penalty = gradient_penalty(D, real, fake, gens)
        return wgan_d_loss(D(real), D(fake)) + self.gp_lambda * penalty

    def g_loss(self, D, fake, fake_labels):
        from ganbench.losses import wgan_g_loss

        return wgan_g_loss(D(fake))
