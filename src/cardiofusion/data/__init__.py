"""Input data: the demo dataset generator, validation and splitting."""
