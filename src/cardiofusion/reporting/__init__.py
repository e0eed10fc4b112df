"""Report stage: figures and report.md drawn from what the earlier stages wrote."""
