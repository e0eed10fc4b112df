"""The server protects itself before it reads a body: a wrong key, one upload too many, a body
that stalls and a client that hangs up are each refused without reading (or parsing) what was
sent, logged as one line and never a 5xx; made-up methods cannot grow /metrics; the schema says
what the server really wants.

The app is driven over ASGI directly where a test needs to control when the body arrives."""

import asyncio
import logging

import pytest
from fastapi.testclient import TestClient

from cardiofusion.serve import create_app

KEY = "s3cr3t-ключ"  # not ASCII: compared as bytes, it matches itself


@pytest.fixture(scope="module")
def guarded_app(model_path, tiny_params):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(tiny_params.serve.api_key_env, KEY)
        serve = tiny_params.serve.model_copy(update={"uploads_in_flight": 2,
                                                     "read_timeout_s": 0.3})
        return create_app(model_path, tiny_params.model_copy(update={"serve": serve}))


def _scope(method="POST", path="/predict", key: bytes | None = KEY.encode(), length=1_000_000):
    headers = [(b"host", b"test"), (b"content-length", str(length).encode()),
               (b"content-type", b"multipart/form-data; boundary=b")]
    if key is not None:
        headers.append((b"x-api-key", key))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
            "server": ("test", 80)}


async def _call(app, scope, receive):
    """The status and body the app sends for one request."""
    sent = []

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent
                                     if m["type"] == "http.response.body")


async def _never_read():
    raise AssertionError("the body was read")


def test_a_wrong_key_is_refused_before_a_byte_of_the_body_is_read(guarded_app):
    for key in (None, b"wrong", KEY.encode()[:-1]):
        status, body = asyncio.run(_call(guarded_app, _scope(key=key), _never_read))
        assert status == 401 and b"X-API-Key" in body


def test_a_non_ascii_key_matches_itself(guarded_app):
    with TestClient(guarded_app) as client:
        assert client.get("/risk-levels", headers={"X-API-Key": KEY.encode()}).status_code == 200
        assert client.get("/risk-levels", headers={"X-API-Key": "s3cr3t"}).status_code == 401


def test_metrics_need_the_key_when_one_is_set(guarded_app):
    with TestClient(guarded_app) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": KEY.encode()}).status_code == 200


def test_uploads_over_the_cap_get_a_503_before_their_body_is_read(guarded_app):
    async def scenario():
        gate = asyncio.Event()

        async def waits():
            await gate.wait()
            return {"type": "http.disconnect"}

        holding = [asyncio.create_task(_call(guarded_app, _scope(), waits)) for _ in range(2)]
        await asyncio.sleep(0.05)  # both hold their slot, waiting for their bodies
        third = await _call(guarded_app, _scope(), _never_read)
        gate.set()
        await asyncio.gather(*holding)
        return third

    status, body = asyncio.run(scenario())
    assert status == 503 and b"serve.uploads_in_flight" in body


def test_a_body_that_stalls_is_a_408_and_frees_its_slot(guarded_app):
    async def scenario():
        parts = iter([{"type": "http.request", "body": b"--b\r\n", "more_body": True}])

        async def stalls():
            message = next(parts, None)
            if message is None:
                await asyncio.sleep(3600)
            return message

        return [await _call(guarded_app, _scope(), stalls) for _ in range(3)]

    for status, body in asyncio.run(scenario()):  # more than the cap, one after another
        assert status == 408 and b"serve.read_timeout_s" in body


def test_a_client_that_hangs_up_is_one_log_line_and_no_traceback(guarded_app, caplog):
    async def hangs_up():
        return {"type": "http.disconnect"}

    with caplog.at_level(logging.INFO):
        status, _ = asyncio.run(_call(guarded_app, _scope(), hangs_up))
    assert status == 499
    lines = [r for r in caplog.records if r.name == "cardiofusion.access"]
    assert len(lines) == 1 and "status=499" in lines[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_made_up_methods_are_one_label_in_metrics(guarded_app):
    with TestClient(guarded_app) as client:
        key = {"X-API-Key": KEY.encode()}
        before = len(client.get("/metrics", headers=key).content)
        for i in range(200):
            assert client.request(f"M{i:04d}" + "X" * 400, "/health").status_code == 405
        after = client.get("/metrics", headers=key).text
    assert 'method="OTHER"' in after and "XXXX" not in after
    assert len(after) < before + 5_000


def test_head_on_health_answers_without_a_body(client):
    response = client.head("/health")
    assert response.status_code == 200 and response.content == b""


def test_the_schema_asks_for_a_key_only_when_one_is_set(client, guarded_app):
    open_schema = client.get("/openapi.json").json()
    assert "security" not in open_schema["paths"]["/predict"]["post"]
    with TestClient(guarded_app) as guarded:
        schema = guarded.get("/openapi.json").json()
    assert schema["paths"]["/predict"]["post"]["security"]


def test_the_schema_types_clinical_fields_as_numbers_or_categories(client):
    schema = client.get("/openapi.json").json()
    form = next(v for k, v in schema["components"]["schemas"].items() if "predict_post" in k)
    fields = form["properties"]
    age, cp = fields["age"]["anyOf"], fields["cp"]["anyOf"]
    assert age[0]["type"] == "number" and age[0]["maximum"] > age[0]["minimum"]
    assert cp[0]["type"] == "string" and cp[0]["enum"]
    assert cp[1] == {"type": "number", "enum": [0, 1, 2, 3]}  # `2.0` is category `2`
    assert "ecg_record" not in fields  # an image model: no record upload
    assert "NA" in [w.upper() for w in age[1]["enum"]]  # unknown, as the form reads it
    assert form["additionalProperties"] is False
    assert {"required": ["ecg_image"]} in form["anyOf"]  # at least one input with a value
