"""Fixtures shared by several test files."""

import pytest


@pytest.fixture
def torch_one_thread():
    """torch on one thread: the networks in the tests are tiny, and on a 2-core machine OpenMP
    threads cost more in synchronisation than they save (up to ~10x slower per step)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
