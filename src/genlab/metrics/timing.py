"""Timing one metric: a warm-up call first (not timed), then the timed call, with the GPU
synchronised at both ends so asynchronous CUDA work is counted where it happens."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import torch

T = TypeVar("T")

#: Rows of each set the warm-up call sees: enough to run every code path (imports, thread
#: pools, CUDA context and kernels), too few to cost noticeable time.
WARMUP_ROWS = 64


def synchronize(device: torch.device | str) -> None:
    """Wait for queued CUDA work on `device` (no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(
    call: Callable[[], T], device: torch.device | str = "cpu", warmup: Callable[[], object] | None = None
) -> tuple[T, float]:
    """(result of call(), its wall-clock seconds); `warmup()` runs first and is not timed."""
    if warmup is not None:
        warmup()
    synchronize(device)
    started = time.perf_counter()
    result = call()
    synchronize(device)
    return result, time.perf_counter() - started
