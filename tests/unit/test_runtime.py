"""The training precision: what `train.precision` picks on this CPU, and under limited kernels."""

import os
import subprocess
import sys

import pytest
import torch

from cardiofusion.errors import ConfigError
from cardiofusion.runtime import pick_precision

CPU = torch.device("cpu")
AUTO_PRECISION = ("import torch; from cardiofusion.runtime import pick_precision; "
                  "print(pick_precision('auto', torch.device('cpu')))")


@pytest.mark.parametrize("limit", [{"ATEN_CPU_CAPABILITY": "avx2"},
                                   {"ONEDNN_MAX_CPU_ISA": "AVX2"}])
def test_auto_keeps_float32_when_the_kernels_are_limited_to_avx2(limit: dict[str, str]) -> None:
    # bfloat16 is emulated under either limit, even on a CPU with AVX-512 BF16 or AMX
    env = {key: value for key, value in os.environ.items()
           if key not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")}
    picked = subprocess.run([sys.executable, "-c", AUTO_PRECISION], env={**env, **limit},
                            capture_output=True, text=True, check=True).stdout.strip()
    assert picked == "None"


def test_explicit_choices_are_kept_and_fp16_needs_cuda() -> None:
    assert pick_precision("fp32", CPU) is None
    assert pick_precision("bf16", CPU) is torch.bfloat16
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        pick_precision("fp16", CPU)
