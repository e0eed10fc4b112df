"""Uploaded files: size, name and emptiness checks, and the input contract's refusals mapped to
the form field and an HTTP status."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from cardiofusion.inputs import InputRejected, is_signal_record
from cardiofusion.serve.errors import InputError, shown

ECG_FIELD = "ecg_image"
RECORD_FIELD = "ecg_record"
PCG_FIELD = "pcg_audio"
EXPECTED = {
    ECG_FIELD: "an ECG scan image (PNG, JPEG, TIFF, BMP ...)",
    RECORD_FIELD: "an ECG signal record: one EDF file, or a WFDB header (.hea) together with "
                  "the signal file(s) it names (send the field once per file)",
    PCG_FIELD: "a heart-sound recording (WAV, FLAC, OGG, MP3)",
}
FIELD_OF_KIND = {"image": ECG_FIELD, "recording": PCG_FIELD, "signal": RECORD_FIELD}
MODALITY_OF_FIELD = {ECG_FIELD: "ecg", RECORD_FIELD: "ecg", PCG_FIELD: "pcg"}
MAX_RECORD_FILES = 4  # a header and its signal files
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
NAMES = {"ecg": "an ECG", "pcg": "a heart-sound recording"}
# contract reasons (cardiofusion.inputs) that are not a plain 422
STATUS_OF_REASON = {"image_unreadable": 415, "audio_unreadable": 415, "ecg_unreadable": 415,
                    "image_too_large": 413, "audio_too_long": 413, "ecg_too_long": 413}


def read_optional(field: str, upload: UploadFile | None, max_bytes: int,
                  modalities: tuple[str, ...]) -> bytes | None:
    """The file's bytes, or None when the part was left out (or, as a browser sends an empty
    file input, has neither name nor content); a file for a modality the model was trained
    without is a 422 saying so."""
    if upload is None or (not upload.filename and not upload.size):
        return None
    modality = MODALITY_OF_FIELD[field]
    if modality not in modalities:
        raise InputError.one(field, f"this model was trained without {NAMES[modality]}: it "
                                    f"has no such input; leave {field} out")
    return read_upload(field, upload, max_bytes)


@contextmanager
def record_upload(uploads: list[UploadFile] | None, max_bytes: int, ecg_kind: str | None
                  ) -> Iterator[Path | None]:
    """The uploaded ECG record written to a private folder (the readers need files), as the
    path of its EDF file or WFDB header; None when nothing was sent. The folder is removed on
    exit. A name that is not a plain file name, more than MAX_RECORD_FILES files, or a model
    that reads ECG images is a 422."""
    sent = [u for u in uploads or [] if u.filename or u.size]
    if not sent:
        yield None
        return
    if ecg_kind != "signal":
        raise InputError.one(RECORD_FIELD, "this model reads ECG images, not signal records: "
                             f"send {ECG_FIELD}" if ecg_kind else "this model was trained "
                             f"without an ECG: it has no such input; leave {RECORD_FIELD} out")
    if len(sent) > MAX_RECORD_FILES:
        raise InputError.one(RECORD_FIELD, f"{len(sent)} files; a record is at most "
                                           f"{MAX_RECORD_FILES} (a header and its signal files)")
    with tempfile.TemporaryDirectory(prefix="cardiofusion-record-") as folder:
        names = []
        for upload in sent:
            name = upload.filename or ""
            if not SAFE_NAME.match(name):
                raise InputError.one(RECORD_FIELD, f"file name {shown(name)} is not a plain "
                                     "file name (letters, digits, . _ -); rename the file")
            (Path(folder) / name).write_bytes(read_upload(RECORD_FIELD, upload, max_bytes))
            names.append(name)
        records = [n for n in names if is_signal_record(n)]
        if len(records) != 1:
            raise InputError.one(RECORD_FIELD, f"{len(records)} record files among "
                                 f"{', '.join(names)}; send one .edf file, or one .hea header "
                                 "with its signal files")
        yield Path(folder) / records[0]


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
        raise InputError.one(field, f"{shown(upload.filename)} is empty; send {EXPECTED[field]}")
    return data


def rejection(exc: InputRejected) -> InputError:
    """The contract's refusal on its form field: 415 unreadable, 413 over a budget, else 422."""
    field = FIELD_OF_KIND[exc.kind]
    status = STATUS_OF_REASON.get(exc.reason, 422)
    problem = exc.detail + (f"; send {EXPECTED[field]}" if status == 415 else "")
    return InputError.one(field, problem, status)


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
