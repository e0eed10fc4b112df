"""The upload page in headless chromium (selenium + Debian's chromium-driver): choose an ECG scan
and a recording from disk, type a clinical value, submit, read the result off the page."""

import shutil
import socket
import threading
import time

import pytest
import uvicorn

from cardiofusion.serve import create_app

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMEDRIVER is None or CHROMIUM is None,
                                 reason="chromium and chromium-driver are not installed "
                                        "(.ci/run installs them)")]


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


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def test_uploading_the_three_inputs_on_the_page_shows_a_result(page_url, browser, tiny_params):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    root = tiny_params.demo.out_dir
    ecg = next((root / "ecg").glob("*.png"))
    pcg = root / "pcg" / f"{ecg.stem}.wav"
    browser.get(page_url)
    labels = browser.find_element(By.ID, "patient").text
    assert "Resting blood pressure (mm Hg)" in labels and "trtbps" in labels
    browser.find_element(By.ID, "ecg_image").send_keys(str(ecg))
    browser.find_element(By.ID, "pcg_audio").send_keys(str(pcg))
    browser.find_element(By.NAME, "age").send_keys("57")
    browser.find_element(By.ID, "submit").click()

    result = browser.find_element(By.ID, "result")
    WebDriverWait(browser, 60).until(
        lambda _: result.get_attribute("data-state") == "done"
        or browser.find_element(By.ID, "errors").is_displayed())
    assert not browser.find_element(By.ID, "errors").is_displayed(), \
        browser.find_element(By.ID, "errors").text
    WebDriverWait(browser, 10).until(seen.visibility_of(result))
    assert browser.find_element(By.ID, "class").text in ("healthy", "abnormal")
    assert browser.find_element(By.ID, "probability").text.endswith("%")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#bar div")) == 3
    assert "threshold" in browser.find_element(By.ID, "confidence").text
    influence = browser.find_elements(By.CSS_SELECTOR, "#clinical tbody tr td:first-child")
    assert influence and all(" · " in cell.text for cell in influence)  # name · column
