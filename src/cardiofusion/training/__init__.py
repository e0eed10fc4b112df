"""Train stage: the training loop, OGM-GE gradient modulation and augmentation."""
