"""The static site of `python course.py run --html`, read in headless Chromium from the file system."""
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from the committed notebooks (or from the last `course.py run --quick --html`)."""
    last = ROOT / "out" / "run-quick" / "site" / "index.html"
    if last.exists():
        return last
    out = tmp_path_factory.mktemp("run")
    subprocess.run([sys.executable, str(ROOT / "tools" / "run_course.py"), "--no-execute", "--html", "--out", str(out)],
                   check=True, capture_output=True, timeout=600)
    return out / "site" / "index.html"


def test_index_table_lists_every_notebook_and_links_to_its_page(browser, site):
    from selenium.webdriver.common.by import By

    browser.get(site.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    names = [row.find_elements(By.TAG_NAME, "td")[0].text for row in rows]
    assert names == notebooks
    cells = rows[0].find_elements(By.TAG_NAME, "td")
    print("first row as read in Chromium:", " | ".join(c.text for c in cells))
    rows[0].find_element(By.TAG_NAME, "a").click()
    assert browser.current_url.endswith(f"{notebooks[0]}.html")
    assert "attention" in browser.find_element(By.TAG_NAME, "h1").text.lower()
    images = browser.find_elements(By.CSS_SELECTOR, ".jp-RenderedImage img, img")
    assert images, "the notebook page shows its plots"


def test_a_training_notebook_shows_each_progress_bar_as_one_line(browser, site):
    # issue 22: nbconvert stored a bar redraw by redraw; the committed pages keep each bar's last state only
    from selenium.webdriver.common.by import By

    browser.get((site.parent / "04_pretraining.html").as_uri())
    stderr = '[data-mime-type="application/vnd.jupyter.stderr"]'
    outputs = [e.text for e in browser.find_elements(By.CSS_SELECTOR, stderr)]
    bars = [[line for line in text.splitlines() if "%|" in line] for text in outputs]
    assert any(bars), "04's page shows its training progress bars"
    print(f"{sum(map(len, bars))} bar lines in {len(outputs)} stderr outputs, e.g. {next(b for b in bars if b)[0]!r}")
    for lines in bars:
        names = [line.split(":")[0] for line in lines]
        assert len(names) == len(set(names)), f"a bar drawn more than once in one output: {lines[:3]}"


def test_the_japanese_site_shows_japanese_pages(browser, tmp_path):
    # issue 23: `course.py run --html --lang ja` renders the Japanese notebooks (here: as committed)
    import re

    from selenium.webdriver.common.by import By

    subprocess.run([sys.executable, str(ROOT / "tools" / "run_course.py"), "--no-execute", "--html", "--lang", "ja",
                    "--out", str(tmp_path)], check=True, capture_output=True, timeout=600)
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    browser.get((tmp_path / "site" / "index.html").as_uri())
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    assert japanese.search(browser.find_element(By.TAG_NAME, "h1").text)
    rows = browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
    assert len(rows) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    rows[0].find_element(By.TAG_NAME, "a").click()
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h1, h2")]
    print("headings of the Japanese 01 as read in Chromium:", headings[:4])
    assert "アテンション" in headings[0]
    assert sum(bool(japanese.search(h)) for h in headings) >= len(headings) - 1
