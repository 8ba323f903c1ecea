"""The HTML report in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`) opens it
offline, logs no console error, loads every image, shows the verdict, runs no injected script, and we keep
a full-page screenshot (in the test's tmp dir) to look at.

`make test` installs Chromium with apt-get when it is missing (as root); this test installs it the same way
when run by hand as root, and skips only when it is absent and cannot be installed.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--disable-default-apps", "--disable-extensions", "--window-size=1280,900")


def _ensure_chromium() -> None:
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"headless Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}) and cannot be installed "
                    "here (needs apt-get as root): run `apt-get install chromium chromium-driver`, or `make test` "
                    "as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium",
                                        "chromium-driver"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"headless Chromium is missing and `{' '.join(cmd)}` failed: {done.stderr.strip()[-300:]}")


@pytest.fixture
def browser(tmp_path, monkeypatch):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: "
                                                                 "pip install -e '.[dev]'")
    _ensure_chromium()
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_AVOID_STATS", "true")  # Selenium Manager must not phone home (it is not needed:
    monkeypatch.setenv("SE_OFFLINE", "true")  # both binaries are given explicitly)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER,
                                                               log_output=str(tmp_path / "chromedriver.log")))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.e2e
def test_report_renders_in_headless_chromium(browser, report_path, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    browser.get(report_path.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"

    errors = [e for e in browser.get_log("browser") if e.get("level") in ("SEVERE", "ERROR")]
    assert errors == [], f"console errors: {errors}"

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight,"
        " i.currentSrc.slice(0, 22)])")
    assert len(images) >= 5
    for alt, complete, width, height, src in images:
        assert complete and width > 0 and height > 0, f"image not loaded: {alt!r}"
        assert src == "data:image/png;base64,", src

    verdict = browser.find_element(By.CSS_SELECTOR, "h1.verdict")
    assert verdict.is_displayed() and verdict.text == "not converging"
    assert verdict.value_of_css_property("color") == "rgba(185, 28, 28, 1)"  # the red of a failing verdict
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "<script>alert(1)</script>" in body  # shown as text, not run
    assert browser.execute_script("return document.scripts.length") == 0
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - no injected alert() ever ran
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)"
        ".filter(n => !n.startsWith('data:'))")
    assert resources == [], f"the page fetched {resources}"

    # The whole page, beyond the viewport, through the DevTools protocol.
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path = tmp_path / "report.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 20_000
    print(f"screenshot: {path}")
