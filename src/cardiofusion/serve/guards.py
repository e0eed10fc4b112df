"""ASGI guards that refuse a request before its body is read: the API key, the number of
uploads in flight and a body that stalls.

They run outside FastAPI's routing, on the raw scope, so a client with a wrong key, one too many
uploads or a connection that stops sending costs the server a few kilobytes and no parsing
(README, bad input: 400 stalled wrong-key uploads).
"""

from __future__ import annotations

import asyncio
import hmac

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cardiofusion.serve.errors import InputError

API_KEY_HEADER = "X-API-Key"
OPEN_PATHS = frozenset({"/", "/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                           "CONNECT"})
OTHER_METHOD = "OTHER"  # what a made-up method is called in the log, /metrics and the router


class BodyTimeout(Exception):
    """The client sent nothing for serve.read_timeout_s in the middle of its body."""


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, field: str | None,
                  problem: str, headers: dict[str, str] | None = None) -> None:
    body = InputError.one(field, problem, status).body()
    await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)


class ApiKeyGuard:
    """With a key configured, every path but the page, /health and the docs needs it in
    X-API-Key, compared as bytes (a key in any script matches itself) in constant time."""

    def __init__(self, app: ASGIApp, key: str | None, variable: str) -> None:
        self.app = app
        self.key = None if key is None else key.encode("utf-8")
        self.variable = variable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.key is None or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        wanted = API_KEY_HEADER.lower().encode()
        sent = next((value for name, value in scope["headers"] if name == wanted), None)
        if sent is None or not hmac.compare_digest(sent, self.key):
            await _answer(scope, receive, send, 401, API_KEY_HEADER,
                          f"missing or wrong API key; send the server's {self.variable} in "
                          f"the {API_KEY_HEADER} header")
            return
        await self.app(scope, receive, send)


class UploadGuard:
    """At most `limit` requests receive a body at once (more get a 503 with Retry-After before
    a byte of theirs is read), and a body that stalls for `timeout` seconds ends in a 408."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await _answer(scope, receive, send, 503, "request body",
                          f"{self.limit} uploads are being received (serve.uploads_in_flight); "
                          "try again in a moment", {"Retry-After": "1"})
            return
        self.active += 1
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:  # after the body: waiting for a disconnect is not a stall
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except asyncio.TimeoutError:
                raise BodyTimeout from None
            complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        try:
            await self.app(scope, timed_receive, send)
        finally:
            self.active -= 1


class FoldUnknownMethods:
    """A made-up HTTP method becomes OTHER before anything sees it, so 3,000 different ones
    are one label in /metrics and one word in the log, not 3,000 series of 4 KB names."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in KNOWN_METHODS:
            scope = {**scope, "method": OTHER_METHOD}
        await self.app(scope, receive, send)


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    length = headers.get(b"content-length", b"0")
    return b"transfer-encoding" in headers or (length.isdigit() and int(length) > 0)
