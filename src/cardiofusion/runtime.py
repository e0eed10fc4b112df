"""One seed for Python, NumPy and torch, the device choice, and the training precision."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from cardiofusion.errors import ConfigError


def seed_everything(seed: int) -> torch.Generator:
    """Seed every source of randomness; return a torch generator for samplers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was requested but no CUDA device is available")
    return torch.device(choice)


def pick_precision(choice: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `train.precision` (None: float32 throughout).

    `auto` takes bfloat16 only where the hardware computes it natively (a CUDA card that
    supports it, or a CPU with AVX-512 BF16 or AMX); emulated bfloat16 is slower than float32.
    """
    if choice == "fp32":
        return None
    if choice == "fp16":
        if device.type != "cuda":
            raise ConfigError("train.precision: fp16 needs a CUDA device; use bf16 or fp32 on CPU")
        return torch.float16
    if choice == "bf16":
        return torch.bfloat16
    native = (torch.cuda.is_bf16_supported() if device.type == "cuda"
              else cpu_has_native_bf16())
    return torch.bfloat16 if native else None


# parts of the oneDNN ISA names (ONEDNN_MAX_CPU_ISA) whose level computes bfloat16 natively
NATIVE_BF16_ISAS = ("BF16", "AMX", "FP16", "AVX10")


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX in the kernel's CPU flags (Linux; elsewhere: no), with PyTorch's
    kernels and oneDNN allowed to use them: limited to AVX2 (ATEN_CPU_CAPABILITY=avx2,
    ONEDNN_MAX_CPU_ISA=AVX2) the same CPU emulates bfloat16, several times slower."""
    if not torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        return False
    onednn_isa = os.environ.get("ONEDNN_MAX_CPU_ISA",
                                os.environ.get("DNNL_MAX_CPU_ISA", "ALL")).upper()
    if onednn_isa != "ALL" and not any(name in onednn_isa for name in NATIVE_BF16_ISAS):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
