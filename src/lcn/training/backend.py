"""Torch device, dtype and thread settings shared by the trainers (imported lazily: nothing
here imports torch at module level)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lcn._validate import check_choice
from lcn.errors import ConfigError

__all__ = ["torch_setup", "small_op_threads", "fixed_threads", "sync_free"]

#: Below this many parameter entries CPU work runs on one thread (see small_op_threads).
SMALL_WORK = 5_000_000


def torch_setup(device: Any, dtype: Any) -> tuple[Any, Any]:
    """``(torch.device, torch.dtype)`` from the user's ``device`` (``"cpu"``, ``"cuda"``,
    ``"cuda:1"``, a ``torch.device``) and ``dtype`` (``"float64"``, ``"float32"``)."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError("device", f"is {device!r}; use 'cpu' or 'cuda'") from None
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError("device", f"is {device!r}; use 'cpu' or 'cuda'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "is 'cuda' but no CUDA device is available; use 'cpu'")
    name = check_choice("float64" if dtype is None else dtype, "dtype", ("float64", "float32"),
                        error=ConfigError)
    return dev, (torch.float64 if name == "float64" else torch.float32)


@contextmanager
def fixed_threads(torch: Any, n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextmanager
def small_op_threads(torch: Any, device: Any, work: int) -> Iterator[None]:
    """Run small batched CPU work single-threaded: intra-op threading of tensors with a few
    thousand entries costs far more in synchronization than it gains (measured: a 200x27 @
    27x7 matmul takes 8 us on one thread and milliseconds on two busy cores)."""
    if getattr(device, "type", "cpu") != "cpu" or work > SMALL_WORK:
        yield
        return
    with fixed_threads(torch, 1):
        yield


def sync_free(device: Any) -> bool:
    """Whether the device runs asynchronously (CUDA), so that reading a tensor's value on the
    host (``bool(t.any())``) stalls the queue and must stay out of inner loops."""
    return getattr(device, "type", "cpu") == "cuda"
