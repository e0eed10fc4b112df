"""Checkpoint averaging: the saved model as a greedy soup of the run's best epochs.

One epoch's weights carry the noise of its last few batches of 16; selection on a validation
split of a few hundred patients then picks among noisy points. Averaging the weights of several
good epochs of one run lands nearer the middle of the region they sample, as stochastic weight
averaging (Izmailov et al., UAI 2018) and checkpoint averaging do. Which epochs go in follows
the greedy soup of Wortsman et al. (ICML 2022): the candidates in order of validation loss, each
kept only if the average with it has a lower loss than without it and, under in-band selection,
its shares stay inside the band. The soup is never worse on validation than the best epoch
alone, which is where it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

State = dict[str, torch.Tensor]


@dataclass
class Candidates:
    """The `size` lowest-loss eligible epochs seen so far, their weights kept on the CPU."""

    size: int
    epochs: list[tuple[float, int, State]] = field(default_factory=list)  # (loss, epoch, state)

    def offer(self, loss: float, epoch: int, model: torch.nn.Module) -> None:
        """Keep this epoch if it is among the `size` lowest validation losses so far."""
        if self.size < 2 or (len(self.epochs) == self.size and loss >= self.epochs[-1][0]):
            return
        state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        self.epochs = sorted([*self.epochs, (loss, epoch, state)], key=lambda c: c[:2])[: self.size]

    def state_dict(self) -> dict[str, object]:
        return {"size": self.size, "epochs": self.epochs}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.size, self.epochs = int(state["size"]), list(state["epochs"])  # type: ignore[arg-type]


def average(states: list[State]) -> State:
    """The element-wise mean of floating-point tensors (weights and BatchNorm statistics);
    counters such as `num_batches_tracked` from the first state."""
    return {k: torch.stack([s[k] for s in states]).mean(0) if states[0][k].is_floating_point()
            else states[0][k] for k in states[0]}


def greedy_soup(
    model: torch.nn.Module,
    candidates: Candidates,
    judge: Callable[[torch.nn.Module], tuple[float, bool]],
) -> list[int]:
    """Load into `model` the average of the candidates the greedy rule keeps and return their
    epochs (best first). `judge` gives a model's validation loss and whether it is admissible
    (in band, or always under selection by loss alone)."""
    (best_loss, best_epoch, best_state), *rest = candidates.epochs
    kept, kept_epochs, kept_loss = [best_state], [best_epoch], best_loss
    for _, epoch, state in rest:
        model.load_state_dict(average([*kept, state]))
        loss, admissible = judge(model)
        if admissible and loss < kept_loss:
            kept, kept_epochs, kept_loss = [*kept, state], [*kept_epochs, epoch], loss
    model.load_state_dict(average(kept))
    return kept_epochs
