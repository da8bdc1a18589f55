"""Process-level torch settings: threads, devices, dtypes, seeds."""

from __future__ import annotations

import random

import numpy as np
import torch

from core_model.errors import CoreModelError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def set_threads(n: int) -> None:
    """Pin torch's intra-op threads; with more than one busy process on few cores, torch at
    full width collapses (FIELD_NOTES: 1.9k -> 0.5k positions/s), so workers and tests use 1."""
    torch.set_num_threads(max(1, n))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CoreModelError(f"device {device!r} asked for, but no CUDA GPU is available")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise CoreModelError(
            f"unknown dtype {dtype!r}; use one of auto, float32, bfloat16"
        ) from None


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def describe_runtime() -> dict[str, str | int | None]:
    """torch's version, intra-op threads and the first CUDA GPU (None without one)."""
    gpu = None
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        gpu = f"{torch.cuda.get_device_name(0)}" + (f" (+{count - 1} more)" if count > 1 else "")
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "gpu": gpu}
