"""cardiofusion: balanced multimodal cardiac classifier pipeline."""

__version__ = "0.1.0"
