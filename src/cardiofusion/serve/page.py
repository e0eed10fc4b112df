"""The upload page at GET /: page.html with the served model's clinical fields filled in."""

from __future__ import annotations

import json
import re
from html import escape
from importlib.resources import files

from cardiofusion.serve.clinical_form import ClinicalField, ClinicalForm
from cardiofusion.serve.clinical_labels import readable


def render_page(form: ClinicalForm, model_id: str, api_key_env: str | None,
                modalities: tuple[str, ...], ecg_kind: str = "image") -> str:
    """`api_key_env`: the variable holding the server's key, None when no key is required;
    an upload the model has no input for is left off the page."""
    template = files("cardiofusion.serve").joinpath("page.html").read_text(encoding="utf-8")
    offered = {"ECG": "ecg" in modalities and ecg_kind == "image",
               "RECORD": "ecg" in modalities and ecg_kind == "signal",
               "PCG": "pcg" in modalities}
    for marker, shown_here in offered.items():
        if not shown_here:
            template = re.sub(f"<!--{marker}-->.*?<!--/{marker}-->", "", template, flags=re.S)
    hint = (f"required: the value of {api_key_env} on the server" if api_key_env
            else "not required by this server")
    return (template
            .replace("<!--CLINICAL_FIELDS-->", "\n".join(_input(f) for f in form.fields))
            .replace("/*CLINICAL_NAMES*/{}", _names_json(form))
            .replace("<!--MODEL_ID-->", escape(model_id))
            .replace("<!--API_KEY_HINT-->", escape(hint)))


def _input(field: ClinicalField) -> str:
    name = escape(field.name, quote=True)
    if field.categories is not None:
        options = ['<option value="">unknown</option>'] + [
            f'<option value="{escape(value, quote=True)}">{escape(value)}</option>'
            for value in field.categories
        ]
        control = f'<select name="{name}">{"".join(options)}</select>'
    else:
        control = f'<input type="number" step="any" name="{name}">'
    title, unit = readable(field.name)
    unit_text = f" ({escape(unit)})" if unit else ""
    return (f'      <label><span class="field-name">{escape(title)}{unit_text}</span> '
            f'<code class="column">{escape(field.name)}</code> {control}'
            f'<span class="hint">{escape(field.describe())}</span></label>')


def _names_json(form: ClinicalForm) -> str:
    """Readable names for the influence table, as a script literal (`<` escaped for HTML)."""
    names = {}
    for field in form.fields:
        title, unit = readable(field.name)
        names[field.name] = f"{title} ({unit})" if unit else title
    return json.dumps(names).replace("<", "\\u003c")
