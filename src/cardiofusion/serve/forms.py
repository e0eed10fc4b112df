"""Multipart parsing within limits that name the part at fault.

Starlette refuses an oversized text field with a 400 that does not say which field; this route
parses the form itself first (FastAPI then reads the parsed form from the request's cache) so an
oversized field is a 413 naming it, and too many parts a 413 on the request body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.routing import APIRoute
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from cardiofusion.serve.errors import InputError

MAX_FIELD_BYTES = 1024  # a clinical value is a number or empty; nothing longer is one
MAX_FILES = 8  # an image or a record of up to 4 files, a recording, and room to report a stray
# upload by name
EXTRA_FIELDS = 16  # text fields beyond the model's clinical fields, reported by name


class _FieldTooLarge(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class _NamingParser(MultiPartParser):
    """Starlette's parser, but an oversized text field raises with its name."""

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        try:
            super().on_part_data(data, start, end)
        except MultiPartException:
            raise _FieldTooLarge(self._current_part.field_name) from None


def limited_form_route(max_fields: int) -> type[APIRoute]:
    """An APIRoute class whose multipart requests are parsed under these limits."""

    class LimitedFormRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def parse_first(request: Request) -> Response:
                if request.headers.get("content-type", "").startswith("multipart/form-data"):
                    request._form = await _parse(request, max_fields)  # FastAPI reads this cache
                return await handler(request)

            return parse_first

    return LimitedFormRoute


async def _parse(request: Request, max_fields: int) -> object:
    parser = _NamingParser(request.headers, request.stream(), max_files=MAX_FILES,
                           max_fields=max_fields, max_part_size=MAX_FIELD_BYTES)
    try:
        return await parser.parse()
    except _FieldTooLarge as exc:
        raise InputError.one(exc.field, f"longer than {MAX_FIELD_BYTES} bytes; a clinical "
                                        "value is a number or empty", 413) from None
    except MultiPartException as exc:
        status = 413 if exc.message.startswith("Too many") else 400
        raise InputError.one("request body", exc.message, status) from None
