"""Featurize stage: decode-once features, the per-file cache, the dataset, and the
single-patient path the API shares."""
