"""The closed-loop controller moves each modality toward an even share, and never pushes one
that shows no label signal."""

import math

import pytest

from cardiofusion.config import TrainParams
from cardiofusion.training.closed_loop import (
    MAX_AUX_FACTOR,
    ModalityWeights,
    improves,
    in_band,
    made_progress,
    on_plateau,
)

TP = TrainParams(balance="closed_loop", aux_weight=0.2, balance_rate=0.5, max_modality_dropout=0.5)
SIGNAL = {"ecg": 0.8, "pcg": 0.8, "clinical": 0.8}


def test_the_leading_modality_is_dropped_more_and_the_trailing_one_taught_more():
    weights = ModalityWeights.initial(TP)
    weights.adapt(TP, {"ecg": 10.0, "pcg": 30.0, "clinical": 60.0}, SIGNAL)
    assert weights.aux["ecg"] > 0.2 > weights.aux["clinical"]
    assert weights.dropout["clinical"] > weights.dropout["pcg"] == weights.dropout["ecg"] == 0.0
    excess = (60 - 100 / 3) / (100 / 3)
    assert weights.dropout["clinical"] == pytest.approx(0.5 * excess * 0.5)
    assert weights.aux["clinical"] == pytest.approx(0.2 * math.exp(-0.5 * excess))


def test_an_even_split_changes_nothing():
    weights = ModalityWeights.initial(TP)
    weights.adapt(TP, {m: 100 / 3 for m in SIGNAL}, SIGNAL)
    assert weights.aux == pytest.approx(dict.fromkeys(SIGNAL, 0.2))
    assert weights.dropout == dict.fromkeys(SIGNAL, 0.0)


def test_a_modality_without_label_signal_is_not_pushed_up():
    weights = ModalityWeights.initial(TP)
    weights.adapt(TP, {"ecg": 5.0, "pcg": 45.0, "clinical": 50.0}, {**SIGNAL, "ecg": 0.5})
    assert weights.aux["ecg"] == 0.2


def test_weights_stay_within_their_bounds_however_long_it_runs():
    weights = ModalityWeights.initial(TP)
    for _ in range(50):
        weights.adapt(TP, {"ecg": 0.0, "pcg": 0.0, "clinical": 100.0}, SIGNAL)
    assert weights.aux["ecg"] == pytest.approx(0.2 * MAX_AUX_FACTOR)
    assert weights.aux["clinical"] == pytest.approx(0.2 / MAX_AUX_FACTOR)
    assert weights.dropout["clinical"] == 0.5


def test_other_balance_methods_keep_fixed_weights():
    tp = TrainParams(balance="aux", aux_weight=0.2)
    weights = ModalityWeights.initial(tp)
    weights.adapt(tp, {"ecg": 0.0, "pcg": 0.0, "clinical": 100.0}, SIGNAL)
    assert weights.aux == dict.fromkeys(SIGNAL, 0.2) and not weights.history


def test_state_round_trips_for_resume():
    weights = ModalityWeights.initial(TP)
    weights.adapt(TP, {"ecg": 10.0, "pcg": 30.0, "clinical": 60.0}, SIGNAL)
    restored = ModalityWeights.initial(TP)
    restored.load_state_dict(weights.state_dict())
    assert restored == weights


def test_an_in_band_epoch_beats_a_lower_loss_outside_the_band():
    best = {"val_loss": 0.30, "in_band": False}
    assert improves(0.40, True, best, select_in_band=True)  # first epoch inside the band
    best = {"val_loss": 0.40, "in_band": True}
    assert not improves(0.20, False, best, select_in_band=True)  # never back out of it
    assert improves(0.35, True, best, select_in_band=True)
    assert improves(0.20, False, best, select_in_band=False)  # other methods: loss alone


def test_patience_restarts_on_a_kept_epoch_or_a_new_lowest_loss_of_any_epoch():
    assert made_progress(0.50, kept=True, lowest_loss=0.30)  # in band at last, loss higher
    assert made_progress(0.25, kept=False, lowest_loss=0.30)  # out of band, still improving
    assert not made_progress(0.35, kept=False, lowest_loss=0.30)
    assert not made_progress(0.30, kept=False, lowest_loss=0.30)


def test_a_plateau_halves_the_learning_rates_every_lr_patience_epochs_then_stops():
    tp = TrainParams(patience=5, lr_decay=0.5, lr_patience=2)
    actions = [on_plateau(stale, tp, balancing=False) for stale in range(6)]
    assert actions == [(False, False), (False, False), (False, True), (False, False),
                       (False, True), (True, False)]


def test_no_decay_or_stop_while_balancing_and_none_when_turned_off():
    tp = TrainParams(patience=5, lr_decay=0.5, lr_patience=2)
    assert on_plateau(4, tp, balancing=True) == (False, False)
    assert on_plateau(10, tp, balancing=True) == (False, False)
    constant = TrainParams(patience=0, lr_decay=1.0)
    assert all(on_plateau(s, constant, balancing=False) == (False, False) for s in range(20))


def test_band_membership_needs_every_modality_inside():
    assert in_band({"ecg": 22.0, "pcg": 38.0, "clinical": 40.0}, (22.0, 40.0))
    assert not in_band({"ecg": 21.9, "pcg": 38.0, "clinical": 40.1}, (22.0, 40.0))


def test_the_controller_reads_smoothed_shares():
    weights = ModalityWeights.initial(TP)
    weights.adapt(TP, {"ecg": 10.0, "pcg": 30.0, "clinical": 60.0}, SIGNAL)
    weights.adapt(TP, {"ecg": 50.0, "pcg": 30.0, "clinical": 20.0}, SIGNAL)
    assert weights.smoothed == pytest.approx({"ecg": 30.0, "pcg": 30.0, "clinical": 40.0})


def test_the_auxiliary_weight_restarts_when_a_modality_crosses_its_even_share():
    """Early shares wind the weights up; once two modalities trade places, the early leader is
    taught at least the base weight and the early laggard at most."""
    weights = ModalityWeights.initial(TP)
    for _ in range(5):
        weights.adapt(TP, {"ecg": 5.0, "pcg": 80.0, "clinical": 15.0}, SIGNAL)
    assert weights.aux["ecg"] > 0.2 > weights.aux["pcg"] and weights.dropout["pcg"] > 0.0
    for _ in range(2):  # the smoothed shares cross the even share on the second epoch
        weights.adapt(TP, {"ecg": 60.0, "pcg": 10.0, "clinical": 30.0}, SIGNAL)
    assert weights.aux["pcg"] > 0.2 > weights.aux["ecg"]
    assert weights.aux["pcg"] == pytest.approx(0.2 * math.exp(-0.5 * (weights.smoothed["pcg"]
                                                                      - 100 / 3) / (100 / 3)))


def test_a_band_target_leaves_a_lead_inside_the_band_alone_and_pushes_one_outside():
    tp = TrainParams(balance="closed_loop", balance_target="band", aux_weight=0.2,
                     balance_rate=0.5, max_modality_dropout=0.5)
    band = (34.0, 56.0)  # two modalities, margin 4
    inside = ModalityWeights.initial(tp, ("ecg", "pcg"))
    inside.adapt(tp, {"ecg": 55.0, "pcg": 45.0}, {"ecg": 0.8, "pcg": 0.8}, band)
    assert inside.aux == {"ecg": 0.2, "pcg": 0.2} and inside.dropout == {"ecg": 0.0, "pcg": 0.0}
    outside = ModalityWeights.initial(tp, ("ecg", "pcg"))
    outside.adapt(tp, {"ecg": 70.0, "pcg": 30.0}, {"ecg": 0.8, "pcg": 0.8}, band)
    assert outside.aux["ecg"] < 0.2 < outside.aux["pcg"] and outside.dropout["ecg"] > 0
    even = ModalityWeights.initial(TP, ("ecg", "pcg"))
    even.adapt(TP, {"ecg": 55.0, "pcg": 45.0}, {"ecg": 0.8, "pcg": 0.8}, band)
    assert even.aux["ecg"] < 0.2  # the default still pushes toward 50 %
