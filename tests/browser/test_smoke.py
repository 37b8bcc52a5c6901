"""The browser fixtures themselves: Chromium renders a page, JupyterLab answers and opens a notebook."""
import pytest

pytestmark = pytest.mark.browser


def test_jupyterlab_opens_a_notebook(browser, lab):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{lab['url']}/lab/tree/01_attention.ipynb?token={lab['token']}")
    WebDriverWait(browser, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
    assert "01_attention" in browser.title or "01_attention" in browser.page_source
