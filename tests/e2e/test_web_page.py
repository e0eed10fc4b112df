"""The upload page in headless chromium: choose the two files, submit, see a result.

Chromium is driven through the DevTools protocol over --remote-debugging-pipe (JSON messages
separated by NUL bytes on file descriptors 3 and 4), so no browser-automation package is needed.
"""

import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from cardiofusion.serve import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]


class DevTools:
    """A headless chromium and a blocking request/response channel to it."""

    def __init__(self, profile: Path) -> None:
        browser_in, self._to_browser = os.pipe()
        self._from_browser, browser_out = os.pipe()
        self.process = subprocess.Popen(
            # bash (dash takes single-digit descriptors only) moves the pipe ends to the
            # descriptors chromium expects; browser_out, opened later, is never 3
            ["bash", "-c", f'exec "$0" "$@" 3<&{browser_in} 4>&{browser_out}', CHROMIUM,
             "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--no-first-run", "about:blank"],
            pass_fds=(browser_in, browser_out),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(browser_in)
        os.close(browser_out)
        self._buffer = b""
        self._last_id = 0

    def call(self, method: str, session: str | None = None, timeout: float = 30,
             **params: object) -> dict:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:  # events arrive in between; skip them
            reply = self._receive(deadline)
            if reply.get("id") == self._last_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(TimeoutError, EOFError, OSError):  # it may be gone already
            self.call("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture
def page_url(tiny_trained, tiny_params):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(tiny_trained / "models/best_multimodal_model_retrained.pth", tiny_params)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def test_uploading_the_three_inputs_on_the_page_shows_a_result(page_url, tiny_params,
                                                               tmp_path):
    root = tiny_params.demo.out_dir
    ecg = next((root / "ecg").glob("*.png"))
    pcg = root / "pcg" / f"{ecg.stem}.wav"
    browser = DevTools(tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", url=page_url)["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"]

        def evaluate(expression: str) -> object:
            result = browser.call("Runtime.evaluate", session, expression=expression,
                                  returnByValue=True)["result"]
            return result.get("value")

        _wait_for(lambda: evaluate("document.readyState === 'complete' && "
                                   "!!document.getElementById('patient')"))
        for field, path in (("ecg_image", ecg), ("pcg_audio", pcg)):
            element = browser.call("Runtime.evaluate", session,
                                   expression=f"document.getElementById('{field}')")["result"]
            browser.call("DOM.setFileInputFiles", session, files=[str(path)],
                         objectId=element["objectId"])
        evaluate("document.querySelector('[name=age]').value = '57'")
        evaluate("document.getElementById('submit').click()")
        outcome = _wait_for(lambda: evaluate(
            "document.getElementById('result').dataset.state || "
            "(document.getElementById('errors').hidden ? '' : "
            "'error: ' + document.getElementById('errors').textContent)"))
        assert outcome == "done", outcome
        assert evaluate("document.getElementById('class').textContent") in ("healthy",
                                                                            "abnormal")
        assert evaluate("document.getElementById('probability').textContent").endswith("%")
        assert evaluate("document.querySelectorAll('#bar div').length") == 3
        assert "threshold" in evaluate("document.getElementById('confidence').textContent")
    finally:
        browser.close()


def _wait_for(check, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(0.1)
    return value
