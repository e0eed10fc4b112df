"""Readable names and units for the heart-disease table's column codes, for the upload page.

The codes (`trtbps`, `thalachh`, `caa`) are what the model and the API use; a reader filling in
the form needs to know what each one means and in which unit to type it. Unknown columns (a
user's own CSV) keep their code as the name.
"""

from __future__ import annotations

# column -> (readable name, unit or coding)
CLINICAL_LABELS: dict[str, tuple[str, str]] = {
    "age": ("Age", "years"),
    "sex": ("Sex", "0 = female, 1 = male"),
    "cp": ("Chest pain type", "0 typical angina, 1 atypical, 2 non-anginal, 3 none"),
    "trtbps": ("Resting blood pressure", "mm Hg"),
    "chol": ("Serum cholesterol", "mg/dL"),
    "fbs": ("Fasting blood sugar > 120 mg/dL", "0 = no, 1 = yes"),
    "restecg": ("Resting ECG result", "0 normal, 1 ST-T abnormality, 2 LV hypertrophy"),
    "thalachh": ("Maximum heart rate achieved", "beats/min"),
    "exng": ("Exercise-induced angina", "0 = no, 1 = yes"),
    "oldpeak": ("ST depression induced by exercise", "mm"),
    "slp": ("Slope of the peak exercise ST segment", "0 up, 1 flat, 2 down"),
    "caa": ("Major vessels coloured by fluoroscopy", "count, 0-4"),
    "thall": ("Thalassemia", "thallium stress test result code"),
}


def readable(column: str) -> tuple[str, str | None]:
    """(name, unit) for display; an unknown column is its own name, without a unit."""
    name, unit = CLINICAL_LABELS.get(column, (column, None))
    return name, unit
