"""Names, defaults and limits the command line offers, free of torch and scikit-learn so that
``ganbench --help`` starts at once. The registries they name must agree with them (tests/test_cli.py
checks)."""

VARIANTS = ("vanilla", "wgan-gp", "cond-wgan-gp", "minibatch", "pacgan", "pacgan2", "pacgan3", "pacgan4")
DEFAULT_VARIANTS = VARIANTS[:5]  # the default grid (pacgan2/3/4 are selectable by name)
IMAGE_ARCHS = ("mnist-mlp", "dcgan", "dcgan-small-d", "dcgan-half-d")  # ganbench.archs's image networks
METRICS = ("fid", "kid", "prdc", "c2st")  # ganbench.metrics.suite
DEFAULT_ITERS = 1500  # generator iterations of a mixture run
AUTO_START = 1000   # `--iters auto`: the first budget (doubled each round) ...
AUTO_CAP = 16_000   # ... and the largest (ganbench.auto)

# Beyond these a command would run for days or fill the memory before it failed.
MAX_SEEDS = 10_000
MAX_N_EVAL = 1_000_000  # generated samples evaluated per run
MAX_SAMPLES = 1_000_000  # samples one `ganbench sample` draws

# A run diverges when an averaged loss passes this times sqrt(data dims / 2) (ganbench.train explains
# the rule); here so that the report can say it without importing torch.
RUNAWAY_LOSS = 100.0
