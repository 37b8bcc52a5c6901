"""Notebook 10's playground in a real browser: run the cells up to it in JupyterLab, click Generate, read the text.

    COURSE_CACHE=... HF_HUB_OFFLINE=1 python -m pytest -m browser tests/browser/test_playground_in_lab.py -q -s

The lab fixture runs the kernel in quick mode; the notebook's backend is the local server that
helpers.api starts by itself, so no key is needed. With -s the test prints what it read back.
"""
import json
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "10_few_shot_prompting.ipynb"


def playground_cell() -> int:
    """Return the index of the cell that builds the playground widget."""
    cells = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text(encoding="utf-8"))["cells"]
    return next(i for i, c in enumerate(cells)
                if c["cell_type"] == "code" and "playground.Playground(" in "".join(c["source"]))


def test_generate_in_notebook_10_appends_the_continuation(browser, lab):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{lab['url']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
    WebDriverWait(browser, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
    time.sleep(3)  # let JupyterLab finish laying out the notebook before we click into it
    first = browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")[0]
    first.find_element(By.CSS_SELECTOR, ".jp-InputPrompt, .jp-Cell-inputCollapser, .jp-InputArea").click()
    keys = ActionChains(browser).send_keys(Keys.ESCAPE)  # command mode: Shift+Enter runs a cell and moves on
    for _ in range(playground_cell() + 1):  # every cell from the first up to and including the playground's
        keys = keys.key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).pause(0.2)
    keys.perform()

    prompt = WebDriverWait(browser, 600).until(  # the local server starts in the cells above: minutes on a busy CPU
        EC.presence_of_element_located((By.CSS_SELECTOR, ".course-playground .playground-prompt textarea")))
    before = prompt.get_attribute("value")
    assert before.strip(), "the playground's prompt box is empty"
    button = browser.find_element(By.CSS_SELECTOR, ".course-playground .playground-generate")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    WebDriverWait(browser, 60).until(lambda b: button.is_enabled())
    button.click()
    WebDriverWait(browser, 300).until(lambda b: prompt.get_attribute("value") != before)
    time.sleep(0.5)  # let the widget settle on the final text
    after = prompt.get_attribute("value")
    status = browser.find_element(By.CSS_SELECTOR, ".course-playground .playground-status").text
    print(f"\nprompt before Generate: {before!r}\nafter Generate:  {after!r}\nstatus line: {status!r}")
    assert after.startswith(before) and len(after) > len(before), "Generate did not append a continuation"
