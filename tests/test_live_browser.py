"""The live views in the built book: the reader types (or draws), the model answers in the page.

    make book && .venv/bin/python -m pytest tests/test_live_browser.py

For every live view of every page (served from localhost, in headless Chromium):

* each example is typed into the box (or loaded onto the pad) and run with
  onnxruntime-web; the page's answer and every weight and probability it shows
  (read from the DOM) equal those PyTorch gave when the page was built (kept in
  the view's state) to within 1e-5, and the output text is the same;
* input the model cannot take (empty, too long, unknown words, no [MASK], an
  empty pad) gets a message in the view, never a console error;
* markup typed in (``<img src=x onerror=alert(1)>``) stays text;
* a digit drawn with the mouse gets an answer (probabilities summing to 1);
* opened from ``file://``, each live view says why it cannot run and how to
  serve the book, and still shows the examples' answers.

Time to first answer (click -> heatmap) and the bytes fetched are measured by
``make bench`` (benchmarks/live_views.py), not asserted here.
"""
from __future__ import annotations

import re
import shutil
import time

import pytest

from test_book_html import (HTML, PAGES, XSS_TOKEN, _skip, driver, live_view_count, server,  # noqa: F401
                            start_chromium)

pytestmark = pytest.mark.browser

ATOL = 1e-5


LIVE_PAGES = [page.relative_to(HTML).as_posix() for page in PAGES if live_view_count(page)]

READ = """
const v = arguments[0];
const out = v.querySelector('.attn-live-output');
const num = (sel, attr) => [...out.querySelectorAll(sel)].map(e => Number(e.dataset[attr]));
const o = out.querySelector('.attn-live-out');
return {
  state: v.dataset.liveState || '', source: v.dataset.answerSource || '',
  output: o ? o.dataset.output : null,
  weights: num('[data-w]', 'w'), probs: num('[data-p]', 'p'),
  error: (v.querySelector('.attn-live-error') || {}).textContent || '',
  note: (v.querySelector('.attn-live-note') || {}).textContent || '',
  unavailable: (v.querySelector('.attn-live-unavailable') || {}).textContent || '',
  text: out.textContent,
};
"""


def _views(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "[data-attn-view^='live-']")


def _wait(driver, view, states=("answered", "error"), timeout=60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = driver.execute_script(READ, view)
        if r["state"] in states:
            return r
        time.sleep(0.05)
    raise AssertionError(f"the live view did not answer within {timeout} s: {r}")


def _pick(view, i: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(view.find_element(By.CSS_SELECTOR, ".attn-controls select")).select_by_value(str(i))


def _type(driver, view, text: str) -> dict:
    """Type ``text`` into the view's box as a reader would, press the button, wait for the answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = view.find_element(By.CSS_SELECTOR, ".attn-live-text")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    if text:
        box.send_keys(text)
    assert box.get_attribute("value") == text
    driver.execute_script("arguments[0].dataset.liveState = 'typing'", view)
    view.find_element(By.CSS_SELECTOR, ".attn-live-run").click()
    return _wait(driver, view)


def _same(built: dict, live: dict, where: str) -> float:
    assert live["state"] == "answered" and live["source"] == "model", f"{where}: {live}"
    assert live["output"] == built["output"], f"{where}: the page answers {live['output']!r}, PyTorch {built['output']!r}"
    worst = 0.0
    for key in ("weights", "probs"):
        a, b = built[key], live[key]
        assert len(a) == len(b), f"{where}: {len(b)} {key} shown, {len(a)} from PyTorch"
        worst = max([worst] + [abs(x - y) for x, y in zip(a, b)])
    assert worst <= ATOL, f"{where}: the page's weights differ from PyTorch's by up to {worst:.2e}"
    return worst


@pytest.fixture(scope="module")
def live(server, driver):  # noqa: F811
    if not LIVE_PAGES:
        _skip("no page of the built book holds a live view")
    results = {}
    for rel in LIVE_PAGES:
        driver.get_log("browser")
        driver.get(f"{server}/{rel}")
        deadline = time.time() + 30
        n = live_view_count(HTML / rel)
        while time.time() < deadline and len(_views(driver)) < n:
            time.sleep(0.2)
        views = _views(driver)
        assert len(views) == n, f"{rel}: {n} live views in the state, {len(views)} rendered"
        results[rel] = []
        for k, view in enumerate(views):
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", view)
            kind = view.get_attribute("data-attn-view")[len("live-"):]
            results[rel].append(_exercise(driver, view, kind, f"{rel} live view {k} ({kind})"))
        results[rel + "#console"] = driver.get_log("browser")
    return results


def _exercise(driver, view, kind: str, where: str) -> dict:
    from selenium.webdriver.common.by import By

    record = {"kind": kind, "examples": 0, "worst": 0.0, "errors": {}}
    n_examples = len(view.find_elements(By.CSS_SELECTOR, ".attn-controls select option"))
    for i in range(n_examples):
        _pick(view, i)
        built = driver.execute_script(READ, view)
        assert built["source"] == "built" and built["weights"], f"{where}: example {i} shows no built answer"
        if kind == "image":
            driver.execute_script("arguments[0].dataset.liveState = 'typing'", view)
            view.find_element(By.CSS_SELECTOR, ".attn-live-run").click()
            live = _wait(driver, view)
        else:
            text = driver.execute_script("return arguments[0].querySelector('.attn-live-text').value", view)
            live = _type(driver, view, text)
        record["worst"] = max(record["worst"], _same(built, live, f"{where}, example {i}"))
        record["examples"] += 1
    if kind == "image":
        record["errors"]["empty"] = _empty_pad(driver, view)
        record["drawn"] = _draw(driver, view)
        return record
    record["errors"]["empty"] = _type(driver, view, "   ")
    record["errors"]["long"] = _type(driver, view, " ".join(["one"] * 300) + ".")
    record["xss"] = _type(driver, view, XSS_TOKEN)
    record["xss_dom"] = driver.execute_script(
        "const v = arguments[0]; return {img: !!v.querySelector('img[src=\"x\"]'),"
        " value: v.querySelector('.attn-live-text').value}", view)
    if kind == "fill_mask":
        record["errors"]["unknown"] = _type(driver, view, "on monday zorblax gave her [MASK] some bones")
        record["errors"]["no_mask"] = _type(driver, view, "on monday sara gave her dog some bones")
    return record


def _clear_pad(driver, view) -> None:
    from selenium.webdriver.common.by import By

    view.find_element(By.XPATH, ".//button[normalize-space()='clear']").click()
    driver.execute_script("arguments[0].dataset.liveState = 'typing'", view)


def _empty_pad(driver, view) -> dict:
    from selenium.webdriver.common.by import By

    _clear_pad(driver, view)
    view.find_element(By.CSS_SELECTOR, ".attn-live-run").click()
    return _wait(driver, view)


def _draw(driver, view) -> dict:
    """Draw a "1": a vertical stroke down the middle of the pad, with the mouse."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    pad = view.find_element(By.CSS_SELECTOR, ".attn-live-pad")
    _clear_pad(driver, view)
    size = pad.size
    chain = ActionChains(driver)
    chain.move_to_element_with_offset(pad, 0, -size["height"] // 2 + 20).click_and_hold()
    for step in range(1, 15):
        chain.move_by_offset(0, (size["height"] - 40) // 14)
    chain.release().perform()
    return _wait(driver, view)


def test_live_pages_exist():
    if not HTML.is_dir():
        _skip(f"the book is not built ({HTML} is missing): run `make book` first")
    assert LIVE_PAGES, "the built book has no live view"


@pytest.mark.parametrize("rel", LIVE_PAGES)
def test_typed_inputs_get_pytorchs_answer(live, rel):
    for r in live[rel]:
        assert r["examples"] >= 2, f"{rel}: a {r['kind']} view with fewer than two examples"
        assert r["worst"] <= ATOL


@pytest.mark.parametrize("rel", LIVE_PAGES)
def test_input_the_model_cannot_take_gets_a_message(live, rel):
    expected = {"empty": (r"(first|empty)",), "long": ("at most",), "unknown": ("does not know", "zorblax"),
                "no_mask": (r"\[MASK\]",)}
    for r in live[rel]:
        assert r["errors"], f"{rel}: {r['kind']} view: no bad input tried"
        for what, got in r["errors"].items():
            assert got["state"] == "error", f"{rel}: {r['kind']} view, {what} input: {got}"
            assert all(re.search(word, got["error"]) for word in expected[what]), (
                f"{rel}: {r['kind']} view, {what} input says {got['error']!r}")
            assert not got["weights"], f"{rel}: {r['kind']} view, {what} input still shows an answer"


@pytest.mark.parametrize("rel", LIVE_PAGES)
def test_markup_typed_in_stays_text(live, rel):
    for r in live[rel]:
        if r["kind"] == "image":
            continue
        assert r["xss_dom"] == {"img": False, "value": XSS_TOKEN}, f"{rel}: {r['kind']} view: {r['xss_dom']}"
        shown = r["xss"]["text"] + r["xss"]["error"] + r["xss"]["note"]
        assert "onerror" in shown, f"{rel}: {r['kind']} view does not show the typed markup as text: {r['xss']}"


@pytest.mark.parametrize("rel", LIVE_PAGES)
def test_a_drawn_digit_gets_an_answer(live, rel):
    drawn = [r["drawn"] for r in live[rel] if r["kind"] == "image"]
    for d in drawn:
        assert d["state"] == "answered" and d["source"] == "model", d
        assert d["output"] is not None and abs(sum(d["probs"]) - 1) < 1e-4, d
        assert d["weights"], "no attention map under the drawn digit"


@pytest.mark.parametrize("rel", LIVE_PAGES)
def test_live_pages_console_is_clean(live, rel):
    errors = [e["message"][:300] for e in live[rel + "#console"] if e["level"] == "SEVERE"]
    assert not errors, f"{rel}: console errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("rel", LIVE_PAGES)
def test_from_a_file_the_view_says_how_to_serve_the_book(driver, rel):  # noqa: F811
    driver.get((HTML / rel).resolve().as_uri())
    deadline = time.time() + 30
    while time.time() < deadline and not _views(driver):
        time.sleep(0.2)
    views = _views(driver)
    assert views, f"{rel} opened from file:// shows no live view"
    for view in views:
        r = driver.execute_script(READ, view)
        assert r["state"] == "unavailable", r
        assert "file://" in r["unavailable"] and "make serve" in r["unavailable"], r["unavailable"]
        assert r["source"] == "built" and r["weights"], "the examples' answers are not shown"


def test_without_webassembly_the_view_says_so(server):  # noqa: F811
    """A browser without WebAssembly (here: Chromium with it removed before the page's scripts
    run) gets the reason and the examples' answers, not an exception."""
    if not LIVE_PAGES:
        _skip("no page of the built book holds a live view")
    d, profile = start_chromium()
    try:
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete globalThis.WebAssembly;"})
        d.get(f"{server}/{LIVE_PAGES[0]}")
        assert d.execute_script("return typeof WebAssembly") == "undefined"
        deadline = time.time() + 30
        while time.time() < deadline and not _views(d):
            time.sleep(0.2)
        views = _views(d)
        assert views, f"{LIVE_PAGES[0]} without WebAssembly shows no live view"
        for view in views:
            r = d.execute_script(READ, view)
            assert r["state"] == "unavailable" and "no WebAssembly" in r["unavailable"], r
            assert r["source"] == "built" and r["weights"], "the examples' answers are not shown"
        errors = [e["message"][:300] for e in d.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)
