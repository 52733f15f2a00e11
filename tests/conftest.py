import os

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Unit tests run on 2 cores next to other work; one thread keeps them quick and repeatable.
    torch.set_num_threads(1)


# Tests never download: MNIST comes from files the tests write.
os.environ["GANBENCH_OFFLINE"] = "1"
