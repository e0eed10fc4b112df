"""Demo_data stage: a latent diagnosis per patient, rendered as an ECG printout, a heart-sound
recording and a clinical row."""
