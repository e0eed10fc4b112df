"""Checkpoint averaging: which epochs are kept as candidates and which go into the soup."""

import torch

from cardiofusion.training.soup import Candidates, average, greedy_soup


def _model(value: float) -> torch.nn.Module:
    model = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
    return model


def test_candidates_keep_the_lowest_losses_in_order():
    candidates = Candidates(size=2)
    for epoch, loss in enumerate([0.5, 0.3, 0.4, 0.6], start=1):
        candidates.offer(loss, epoch, _model(epoch))
    assert [(loss, epoch) for loss, epoch, _ in candidates.epochs] == [(0.3, 2), (0.4, 3)]


def test_candidates_copy_the_weights_they_keep():
    model = _model(1.0)
    candidates = Candidates(size=3)
    candidates.offer(0.5, 1, model)
    with torch.no_grad():
        model[0].weight.fill_(9.0)
    assert float(candidates.epochs[0][2]["0.weight"].max()) == 1.0


def test_size_one_keeps_nothing():
    candidates = Candidates(size=1)
    candidates.offer(0.5, 1, _model(1.0))
    assert candidates.epochs == []


def test_average_means_floats_and_keeps_counters():
    first, second = _model(1.0).state_dict(), _model(3.0).state_dict()
    second["1.num_batches_tracked"] = torch.tensor(7)
    averaged = average([first, second])
    assert torch.equal(averaged["0.weight"], torch.full((1, 2), 2.0))
    assert averaged["1.num_batches_tracked"] == first["1.num_batches_tracked"]


def _soup(losses_by_weight: dict[float, float], admissible: bool = True) -> list[int]:
    """A soup of epochs 1-3 (weights 1, 2, 4; epoch 1 best) judged by a lookup of the mean
    weight the averaged model holds."""
    candidates = Candidates(size=3)
    for epoch, (weight, loss) in enumerate([(1.0, 0.30), (2.0, 0.31), (4.0, 0.32)], start=1):
        candidates.offer(loss, epoch, _model(weight))
    model = _model(0.0)

    def judge(candidate):
        mean = round(float(candidate[0].weight.detach().mean()), 3)
        return losses_by_weight[mean], admissible

    return greedy_soup(model, candidates, judge), float(model[0].weight.detach().mean())


def test_soup_keeps_an_epoch_only_when_it_lowers_the_loss():
    # 1+2 -> 1.5 lowers the loss; 1+2+4 -> 2.333 raises it
    epochs, weight = _soup({1.5: 0.25, 2.333: 0.40})
    assert epochs == [1, 2]
    assert weight == 1.5


def test_soup_skips_a_worse_epoch_and_tries_the_next():
    # 1+2 -> 1.5 is worse; 1+4 -> 2.5 is better
    epochs, weight = _soup({1.5: 0.35, 2.5: 0.20})
    assert epochs == [1, 3]
    assert weight == 2.5


def test_soup_refuses_an_average_outside_the_band():
    epochs, weight = _soup({1.5: 0.10, 2.5: 0.10}, admissible=False)
    assert epochs == [1]
    assert weight == 1.0
