"""A fixture for the metric tests: torch on one thread while they run.

The test machines run several test suites at once on two cores; with two torch threads
each small tensor operation then waits on a descheduled OpenMP partner (measured: a
120x120 log-sum-exp 0.16 ms on one thread, 14 ms on two), which makes the iterative
estimators (Sinkhorn) 50x slower without changing a single number.
"""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
