"""One input contract for ECG images and heart-sound recordings, shared by validate, featurize and
the API: every bound is checked from the file header before anything expensive is decoded, and
every refusal is an `InputRejected` with a named reason."""

from cardiofusion.inputs.images import image_size, open_image
from cardiofusion.inputs.limits import DEFAULT_LIMITS, InputLimits, InputRejected
from cardiofusion.inputs.recordings import check_all_samples, read_recording, recording_seconds
from cardiofusion.inputs.signals import (
    check_all_signal_samples,
    is_signal_record,
    read_signal,
    signal_header,
)

__all__ = ["DEFAULT_LIMITS", "InputLimits", "InputRejected", "check_all_samples",
           "check_all_signal_samples", "image_size", "is_signal_record", "open_image",
           "read_recording", "read_signal", "recording_seconds", "signal_header"]
