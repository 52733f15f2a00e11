"""Names, defaults and limits the command line offers, free of torch and scikit-learn so that
``ganbench --help`` starts at once. The registries they name must agree with them (tests/test_cli.py
checks)."""

IMAGE_ARCHS = ("mnist-mlp", "dcgan", "dcgan-small-d", "dcgan-half-d")  # ganbench.archs's image networks
DEFAULT_ITERS = 1500  # generator iterations of a mixture run
AUTO_START = 1000   # `--iters auto`: the first budget (doubled each round) ...
AUTO_CAP = 16_000   # ... and the largest (ganbench.auto)

# Beyond these a command would run for days or fill the memory before it failed.
MAX_SEEDS = 10_000
MAX_N_EVAL = 1_000_000  # generated samples evaluated per run
MAX_SAMPLES = 1_000_000  # samples one `ganbench sample` draws
MAX_ITERS = 10_000_000  # generator iterations per run (the longest published budget: 500,000)
MAX_RUNS = 100_000  # runs one `ganbench run` command plans (a grid past this is refused before planning)
# A run's sizes, as (least, most): what the command line can ask for, and what a record read from disk
# may say (a hand-edited record must not ask for an impossible network). The published settings fit well inside.
CONFIG_LIMITS = {"iters": (1, MAX_ITERS), "seed": (0, 2 ** 32 - 1), "batch_size": (1, 65_536),
                 "n_train": (1, 10_000_000), "n_eval": (1, MAX_N_EVAL), "latent_dim": (1, 8_192),
                 "hidden": (1, 8_192), "depth": (1, 64)}
WARN_CPU_HOURS = 24  # past this estimate `ganbench run` warns (without a prompt) before it starts

# A run diverges when an averaged loss passes this times sqrt(data dims / 2) (ganbench.train explains
# the rule); here so that the report can say it without importing torch.
RUNAWAY_LOSS = 100.0
