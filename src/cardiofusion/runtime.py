"""One seed for Python, NumPy and torch, and the device choice."""

from __future__ import annotations

import random

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
