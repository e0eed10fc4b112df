"""Decode-once feature extraction shared by the featurize stage and the API."""
