"""Evaluate stage: test metrics, bootstrap intervals, calibration, diagnostics and the verdict."""
