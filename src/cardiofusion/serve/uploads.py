"""Uploaded files: size, name and emptiness checks, and decoder errors mapped to the form field."""

from __future__ import annotations

import re

from fastapi import UploadFile
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from cardiofusion.errors import CardiofusionError
from cardiofusion.serve.errors import InputError

ECG_FIELD = "ecg_image"
PCG_FIELD = "pcg_audio"
EXPECTED = {
    ECG_FIELD: "an ECG scan image (PNG, JPEG, TIFF, BMP ...)",
    PCG_FIELD: "a heart-sound recording (WAV, FLAC, OGG, MP3)",
}
# featurize's decoders name a bytes input by these labels (features/ecg.py, features/pcg.py)
_DECODER_LABELS = {"uploaded image": ECG_FIELD, "uploaded audio": PCG_FIELD}
_OBJECT_REPR = re.compile(r"<_io\.BytesIO object at 0x[0-9a-f]+>")


def read_upload(field: str, upload: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes; InputError (413 over the limit, 422 unnamed or empty) otherwise."""
    if not upload.filename:
        raise InputError.one(field, f"the part has no file name; send {EXPECTED[field]} as a "
                                    "file upload")
    too_large = InputError.one(
        field, f"larger than the {max_bytes / 2**20:.3g} MB limit (serve.max_upload_mb)", 413)
    if upload.size is not None and upload.size > max_bytes:
        raise too_large
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    if not data:
        raise InputError.one(field, f"{upload.filename} is empty; send {EXPECTED[field]}")
    return data


def decoding_error(exc: CardiofusionError) -> InputError:
    """A decoder's error as a 415 (unreadable) or 422 (readable but unusable) on its field."""
    label, _, problem = str(exc).partition(": ")
    field = _DECODER_LABELS.get(label)
    if field is None:
        return InputError.one(None, str(exc))
    problem = _OBJECT_REPR.sub("the upload", problem)
    unreadable = "readable" in problem
    if unreadable:
        problem += f"; send {EXPECTED[field]}"
    return InputError.one(field, problem, 415 if unreadable else 422)


class RequestSizeLimit:
    """ASGI middleware: a body announced larger than `limit` bytes gets a JSON 413 at once.

    FastAPI's own `max_body_size` also counts bodies sent without a Content-Length, but when
    the length is announced it answers in plain text; this answers such requests first.
    """

    def __init__(self, app: ASGIApp, limit: int, problem: str) -> None:
        self.app = app
        self.limit = limit
        self.problem = problem

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.limit:
                body = InputError.one("request body", self.problem, 413).body()
                await JSONResponse(body, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)
