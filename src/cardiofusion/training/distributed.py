"""Data-parallel training with torch.distributed, launched by torchrun.

`torchrun --nproc-per-node N stages/train.py` starts N processes with RANK and WORLD_SIZE set;
each trains on its own class-balanced draw of the training split, gradients are averaged after
every backward pass (all-reduce), and rank 0 alone validates, measures contributions and writes
checkpoints, DVCLive logs and the model, then tells the others whether to stop. Without torchrun
(WORLD_SIZE unset) this is one process and nothing here communicates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from cardiofusion.errors import ConfigError


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One CUDA device per process on a node; CPU processes share the CPU."""
        if device.type == "cuda" and self.world > 1:
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return device

    def share_parameters(self, model: torch.nn.Module) -> None:
        """Every rank starts from rank 0's weights and buffers (BatchNorm statistics)."""
        if self.world > 1:
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def average_gradients(self, model: torch.nn.Module) -> None:
        if self.world == 1:
            return
        for parameter in model.parameters():
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)
            dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
            parameter.grad /= self.world

    def from_main(self, value: Any) -> Any:
        """Rank 0's value on every rank (a decision, the closed-loop weights)."""
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def join(device: torch.device) -> Ranks:
    """Join the process group torchrun set up (gloo on CPU, NCCL on CUDA), or run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Ranks()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def leave(ranks: Ranks) -> None:
    if ranks.world > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
