import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Unit tests run on 2 cores next to other work; one thread keeps them quick and repeatable.
    torch.set_num_threads(1)
