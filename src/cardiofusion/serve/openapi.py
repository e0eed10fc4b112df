"""The OpenAPI schema as the server really behaves, for clients and property-based testers.

FastAPI derives the upload forms from the endpoints' signatures, which are the same for every
model; what this model accepts is narrower: only the inputs it was trained with, at least one of
them, and no other field (an unknown field is a 422).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

FORM_SCHEMAS = "Body_predict"  # FastAPI's name prefix of the /predict* multipart bodies


def narrowed_openapi(build: Callable[[], dict[str, Any]], accepted: Iterable[str]
                     ) -> Callable[[], dict[str, Any]]:
    """`app.openapi` that narrows the upload forms to the `accepted` fields, once."""
    names = set(accepted)
    narrowed: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not narrowed:
            schema = build()
            for name, form in schema.get("components", {}).get("schemas", {}).items():
                if name.startswith(FORM_SCHEMAS):
                    _narrow(form, names)
            for operation in _operations(schema):
                body = operation.get("requestBody", {})
                if FORM_SCHEMAS in str(body.get("content", {})):
                    body["required"] = True  # every field is optional, the form is not
            narrowed.update(schema)
        return narrowed

    return openapi


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for path in schema.get("paths", {}).values()
            for operation in path.values() if isinstance(operation, dict)]


def _narrow(form: dict[str, Any], accepted: set[str]) -> None:
    """Only the accepted fields, nothing else, and at least one of them with something in it:
    a file, or a clinical value that is not a word for unknown (each clinical field's first
    option, as ClinicalField.json_schema writes it)."""
    form["properties"] = {name: field for name, field in form.get("properties", {}).items()
                          if name in accepted}
    informative = []
    for name, field in form["properties"].items():
        options = field.get("anyOf", [])
        files = [o for o in options if "contentMediaType" in o or "items" in o]
        if files:  # an upload is sent or left out, never null; an empty file is refused
            field.pop("anyOf")
            field.update(files[0])
            for upload in (field, field.get("items", {})):
                if "contentMediaType" in upload:
                    upload["minLength"] = 1
            informative.append({"required": [name]})
        elif options:
            informative.append({"required": [name], "properties": {name: options[0]}})
    form["additionalProperties"] = False
    form["anyOf"] = informative  # a request with nothing in it has nothing to predict from
