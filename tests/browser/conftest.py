"""Fixtures for the checks that need a real browser: headless Chromium (Debian's package) driven by
Selenium, and a JupyterLab server on 127.0.0.1. Run them with `python course.py test --browser`;
the default suite deselects them (they need `apt-get install chromium chromium-driver`): every test
module here starts with `pytestmark = pytest.mark.browser`."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    """Return a headless Chromium (Selenium WebDriver); skip with the install command if there is none."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no Chromium here: `apt-get install chromium chromium-driver` (Debian/Ubuntu) "
                    "to run the browser checks")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--allow-file-access-from-files"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.set_page_load_timeout(120)
    yield chrome
    chrome.quit()


@pytest.fixture(scope="session")
def lab():
    """Start JupyterLab on 127.0.0.1 serving notebooks/ (quick mode); yield its URL with the token."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "COURSE_QUICK": "1", "HF_HUB_OFFLINE": "1"}
    (ROOT / "out").mkdir(exist_ok=True)
    log = open(ROOT / "out" / "browser-lab.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
                                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                                f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
                                str(ROOT / "notebooks")], cwd=ROOT / "notebooks", env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail("JupyterLab exited at start; see out/browser-lab.log")
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail("JupyterLab did not answer within 90 s; see out/browser-lab.log")
    yield {"url": url, "token": token}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
