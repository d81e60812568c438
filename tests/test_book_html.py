"""The built HTML book in a real browser (headless Chromium driven by selenium).

    make book && .venv/bin/python -m pytest tests -m browser

For every page of _build/html that holds widgets (every chapter at least), served
from localhost, this checks that:

* every widget output renders (non-empty), and each attnbook view reacts to a
  hover or click (what is highlighted, the readout, the figure change);
* no request leaves localhost (Chrome DevTools network events);
* the console shows no error, in particular none of those JB1's defaults produce
  (THEBE_JS_URL declared twice, "Got invalid theme mode", a favicon 404,
  html-manager calling MathJax 2's ``MathJax.Hub.Queue`` under MathJax 3);
* a token such as ``<img src=x onerror=alert(1)>`` is shown as text, never as markup.

Skips with a message when Chromium, chromedriver or the built book is missing,
unless ATTNBOOK_REQUIRE_BROWSER=1 (set by .ci/run), where it fails instead.
ATTNBOOK_HTML=<dir> checks another build. Set ATTNBOOK_SCREENSHOTS=<dir> to save a PNG of every view before and after the
interaction.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import socketserver
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("ATTNBOOK_HTML") or ROOT / "_build" / "html")  # override: another build
REQUIRE = os.environ.get("ATTNBOOK_REQUIRE_BROWSER") == "1"
SHOTS = os.environ.get("ATTNBOOK_SCREENSHOTS")

#: the markup-looking token the self-test widgets carry; it must appear as text
XSS_TOKEN = "<img src=x onerror=alert(1)>"
#: console messages JB1's defaults produce, each of which must be gone
KNOWN_BAD = [
    "THEBE_JS_URL",
    "invalid theme mode",
    "reading 'Queue'",
    "favicon",
    "Failed to load resource",
]
CHROME_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1600",
]
STATE_RE = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)


def _skip(reason: str):
    if REQUIRE:
        pytest.fail(f"{reason} (ATTNBOOK_REQUIRE_BROWSER=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def _find(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if path:
            return path
    return None


def _pages() -> list[Path]:
    """Every chapter page, and every other page that holds widget state."""
    if not HTML.is_dir():
        return []
    pages = set(HTML.glob("chapters/*.html"))
    for p in HTML.rglob("*.html"):
        if "_static" not in p.parts and "application/vnd.jupyter.widget-state+json" in p.read_text(errors="ignore"):
            pages.add(p)
    return sorted(pages)


PAGES = _pages()


def widget_state(page: Path) -> dict:
    m = STATE_RE.search(page.read_text())
    return json.loads(m.group(1)) if m else {"state": {}}


def widget_state_bytes(page: Path) -> int:
    m = STATE_RE.search(page.read_text())
    return len(m.group(1).encode()) if m else 0


# --------------------------------------------------------------------------- fixtures


def live_view_count(page: Path) -> int:
    """How many live views (attnbook.widgets.live.LiveModelView) the page's widget state holds."""
    state = widget_state(page)["state"]
    return sum(str(m.get("state", {}).get("_anywidget_id", "")).endswith("LiveModelView") for m in state.values())


def serve(directory: Path) -> socketserver.ThreadingTCPServer:
    """A quiet http server of ``directory`` on a free localhost port, in a thread (``.shutdown()`` it)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def start_chromium(*, logs: bool = True):
    """Headless Chromium with a fresh profile, driven by selenium: ``(driver, profile folder)``.
    Skips (fails under ATTNBOOK_REQUIRE_BROWSER=1) without chromium, chromedriver or selenium."""
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    chromedriver = _find("chromedriver")
    if not chromium or not chromedriver:
        _skip("headless Chromium test skipped: no chromium and/or chromedriver on PATH "
              "(Debian: apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _skip("selenium is not installed (pip install selenium)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="attnbook-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    if logs:
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)
    d.set_page_load_timeout(60)
    return d, profile


@pytest.fixture(scope="module")
def server():
    if not HTML.is_dir():
        _skip(f"the book is not built ({HTML} is missing): run `make book` first")
    httpd = serve(HTML)
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def driver():
    d, profile = start_chromium()
    yield d
    d.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _attn_views_expected(page: Path) -> int:
    """How many attnbook views the page displays (anywidget models from attnbook.widgets)."""
    state = widget_state(page)["state"]
    html = page.read_text()
    ids = re.findall(r'application/vnd.jupyter.widget-view\+json">\s*(\{.*?\})\s*</script>', html, re.S)
    n = 0
    for raw in ids:
        mid = json.loads(raw)["model_id"]
        st = state.get(mid, {}).get("state", {})
        if str(st.get("_anywidget_id", "")).startswith("attnbook.widgets."):
            n += 1
    return n


@pytest.fixture(scope="module")
def visited(server, driver):
    """Load each page once; collect its console log and network requests."""
    results = {}
    for page in PAGES:
        rel = page.relative_to(HTML).as_posix()
        driver.get_log("browser")
        driver.get_log("performance")
        driver.get(f"{server}/{rel}")
        n_views = len(re.findall(r"application/vnd.jupyter.widget-view\+json", page.read_text()))
        n_attn = _attn_views_expected(page)
        deadline = time.time() + 30
        while time.time() < deadline:
            done = driver.execute_script(
                """
                const subs = [...document.querySelectorAll('.widget-subarea')];
                const filled = subs.filter(s => s.children.length && s.getBoundingClientRect().height > 0);
                return [filled.length, document.querySelectorAll('[data-attn-view]').length];
                """
            )
            if done[0] >= n_views and done[1] >= n_attn:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # let late errors reach the console
        results[rel] = {"page": page, "n_views": n_views, "n_attn": n_attn, "rendered": done[0]}
        results[rel].update(_interact_all(driver, rel))
        time.sleep(0.3)
        results[rel]["console"] = driver.get_log("browser")
        results[rel]["requests"] = _requests(driver.get_log("performance"))
    return results


def _requests(perf_log: list[dict]) -> list[str]:
    urls = []
    for entry in perf_log:
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
        elif msg["method"] == "Network.webSocketCreated":
            urls.append(msg["params"]["url"])
    return urls


# --------------------------------------------------------------------------- interactions


def _snapshot(driver, view) -> dict:
    return driver.execute_script(
        """
        const v = arguments[0];
        const canvases = [...v.querySelectorAll('canvas')].map(c => c.toDataURL());
        const imgs = [...v.querySelectorAll('img')].map(i => i.src.length + ':' + i.src.slice(-40));
        return {
          selection: v.dataset.attnSelection || '',
          highlighted: v.querySelectorAll('.attn-on').length,
          readout: (v.querySelector('.attn-readout') || {}).textContent || '',
          canvases: canvases.join('|'), imgs: imgs.join('|'),
          height: v.getBoundingClientRect().height,
          text: v.textContent.length,
        };
        """,
        view,
    )


def _interact(driver, view, kind: str) -> str:
    """Do the view's natural gesture; returns what was done (for messages)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    chain = ActionChains(driver)
    if kind == "matrix":
        rows = view.find_elements(By.CSS_SELECTOR, ".attn-row-tok")
        chain.move_to_element(rows[-1]).perform()
        return "hovered the last query token"
    if kind == "image":
        steps = view.find_elements(By.CSS_SELECTOR, ".attn-steps button")
        if len(steps) > 1:
            # click a step that is not the one shown (a view may open on its last step)
            if steps[-1].get_attribute("aria-pressed") == "true":
                steps[0].click()
                return "clicked the first step"
            steps[-1].click()
            return "clicked the last step"
        chain.move_to_element(view.find_element(By.CSS_SELECTOR, ".attn-imgbox")).perform()
        return "hovered the image"
    if kind == "text":
        words = view.find_elements(By.CSS_SELECTOR, ".attn-word")
        chain.move_to_element(words[-1]).perform()
        return "hovered the last word"
    if kind == "translation":
        toks = view.find_elements(By.CSS_SELECTOR, ".attn-tr-out .attn-tr-tok")
        chain.move_to_element(toks[-1]).perform()
        return "hovered the last output token"
    if kind == "precomputed":
        buttons = view.find_elements(By.CSS_SELECTOR, ".attn-controls button")
        selects = view.find_elements(By.CSS_SELECTOR, ".attn-controls select")
        sliders = view.find_elements(By.CSS_SELECTOR, ".attn-controls input[type=range]")
        if sliders:
            s = sliders[0]
            key = Keys.ARROW_LEFT if s.get_attribute("value") == s.get_attribute("max") else Keys.ARROW_RIGHT
            s.send_keys(key)
            return "moved the slider"
        if selects:
            from selenium.webdriver.support.ui import Select

            sel = Select(selects[0])
            cur = sel.first_selected_option.get_attribute("value")
            other = next(o for o in sel.options if o.get_attribute("value") != cur)
            sel.select_by_value(other.get_attribute("value"))
            return "picked another value"
        unpressed = [b for b in buttons if b.get_attribute("aria-pressed") != "true"]
        unpressed[0].click()
        return "clicked another value"
    if kind.startswith("live-"):  # a live view: show another of its examples (answered when built)
        from selenium.webdriver.support.ui import Select

        sel = Select(view.find_element(By.CSS_SELECTOR, ".attn-controls select"))
        cur = sel.first_selected_option.get_attribute("value")
        other = next(o for o in sel.options if o.get_attribute("value") != cur)
        sel.select_by_value(other.get_attribute("value"))
        return "picked another example"
    raise AssertionError(f"unknown view kind {kind!r}")


def _widget_math(driver) -> list[dict]:
    """Math in standard ipywidgets labels, once MathJax (if any) has finished."""
    driver.set_script_timeout(20)
    return driver.execute_async_script(
        r"""
        const cb = arguments[arguments.length - 1];
        const check = () => [...document.querySelectorAll('.widget-subarea *')]
            .filter(e => e.childElementCount === 0 && /\$[^$]+\$/.test(e.textContent) ||
                         e.tagName === 'MJX-CONTAINER')
            .map(e => ({raw: e.tagName !== 'MJX-CONTAINER', text: e.textContent.slice(0, 80)}));
        const mj = window.MathJax;
        if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(() => setTimeout(() => cb(check()), 500));
        else cb(check());
        """
    )


def _park_mouse(driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver)
    chain.w3c_actions.pointer_action.move_to_location(2, 2)
    chain.perform()


def _interact_all(driver, rel: str) -> dict:
    from selenium.webdriver.common.by import By

    out = {"views": []}
    for k, view in enumerate(driver.find_elements(By.CSS_SELECTOR, "[data-attn-view]")):
        kind = view.get_attribute("data-attn-view")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", view)
        _park_mouse(driver)  # not over the view: the "before" state has nothing hovered
        time.sleep(0.1)
        name = f"{Path(rel).stem}_{k}_{kind}"
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            view.screenshot(str(Path(SHOTS) / f"{name}_before.png"))
        before = _snapshot(driver, view)
        try:
            did = _interact(driver, view, kind)
        except Exception as err:  # reported by the test, with the page and view
            did = f"interaction failed: {err!r}"
        time.sleep(0.2)
        after = _snapshot(driver, view)
        if SHOTS:
            view.screenshot(str(Path(SHOTS) / f"{name}_after.png"))
        record = {"kind": kind, "did": did, "before": before, "after": after}
        if kind == "matrix":  # and a cell: the readout gives its weight
            from selenium.webdriver.common.action_chains import ActionChains

            cells = view.find_elements(By.CSS_SELECTOR, ".attn-cell")
            ActionChains(driver).move_to_element(cells[0]).perform()
            time.sleep(0.1)
            record["cell"] = _snapshot(driver, view)
        out["views"].append(record)
    out["math"] = _widget_math(driver)
    out["xss"] = driver.execute_script(
        """
        const token = arguments[0];
        const views = [...document.querySelectorAll('.widget-subarea')];
        const asText = views.some(v => [...v.querySelectorAll('*')].some(e =>
            e.childElementCount === 0 && e.textContent === token));
        const injected = views.some(v => v.querySelector('img[src="x"]'));
        return {asText, injected, inPage: document.documentElement.outerHTML.includes('onerror=alert(1)')};
        """,
        XSS_TOKEN,
    )
    try:
        alert = driver.switch_to.alert
        out["alert"] = alert.text
        alert.dismiss()
    except Exception:
        out["alert"] = None
    return out


# --------------------------------------------------------------------------- tests


def test_there_are_pages_to_check():
    if not HTML.is_dir():
        _skip(f"the book is not built ({HTML} is missing): run `make book` first")
    assert PAGES, "the built book has no chapter page and no page with widgets"


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_widgets_render(visited, rel):
    r = visited[rel]
    assert r["rendered"] >= r["n_views"], (
        f"{rel}: {r['n_views']} widget outputs, but only {r['rendered']} rendered (blank widgets)"
    )
    assert len(r["views"]) >= r["n_attn"], (
        f"{rel}: {r['n_attn']} attnbook views in the widget state, {len(r['views'])} rendered"
    )
    for k, v in enumerate(r["views"]):
        b = v["before"]
        assert b["height"] > 20 and b["text"] > 0, f"{rel}: view {k} ({v['kind']}) renders empty: {b}"


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_views_react_to_hover_or_click(visited, rel):
    for k, v in enumerate(visited[rel]["views"]):
        b, a = v["before"], v["after"]
        where = f"{rel}: view {k} ({v['kind']}) after it {v['did']}"
        assert "failed" not in v["did"], where
        assert a["selection"] != b["selection"], f"{where}: its selection did not change ({b['selection']!r})"
        assert a["readout"] != b["readout"], f"{where}: its readout still says {b['readout']!r}"
        if v["kind"] in ("matrix", "text", "translation"):
            assert a["highlighted"] > b["highlighted"], f"{where}: nothing is highlighted"
        if v["kind"] == "matrix":
            c = v["cell"]
            assert c["selection"].startswith("cell:"), f"{rel}: view {k}: hovering a cell selects {c['selection']!r}"
            assert "weight" in c["readout"], f"{rel}: view {k}: hovering a cell reads {c['readout']!r}"
        if v["kind"] == "image" and "step" in v["did"]:
            assert a["canvases"] != b["canvases"], f"{where}: the attention map did not change"
        if v["kind"] == "precomputed" and b["imgs"]:
            assert a["imgs"] != b["imgs"], f"{where}: the figure did not change"


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_no_request_leaves_localhost(visited, rel):
    outside = []
    for url in visited[rel]["requests"]:
        u = urlparse(url)
        if u.scheme in ("data", "blob", "chrome", "about", "chrome-extension", "devtools"):
            continue
        if u.hostname not in ("127.0.0.1", "localhost"):
            outside.append(url[:120])
    assert not outside, f"{rel} requested outside the book: {outside}"


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_the_model_runtime_is_fetched_only_when_a_live_view_is_used(visited, rel):
    """onnxruntime-web (14 MB) is not part of loading a page, nor of browsing a live view's
    examples: it comes the first time the reader reaches for the input (test_live_browser.py)."""
    ort = [url for url in visited[rel]["requests"] if "/attnbook-js/ort/" in url]
    assert not ort, f"{rel} fetched the model runtime without being asked: {ort[:3]}"


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_console_is_clean(visited, rel):
    log = visited[rel]["console"]
    errors = [e["message"][:300] for e in log if e["level"] == "SEVERE"]
    assert not errors, f"{rel}: console errors:\n" + "\n".join(errors)
    known = [e["message"][:300] for e in log if any(k in e["message"] for k in KNOWN_BAD)]
    assert not known, f"{rel}: console shows:\n" + "\n".join(known)


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_math_in_widgets_is_typeset(visited, rel):
    """Standard ipywidgets typeset $...$ through MathJax 2's API; the shim makes MathJax 3 do it."""
    raw = [m["text"] for m in visited[rel]["math"] if m["raw"]]
    assert not raw, f"{rel}: math left untypeset in widgets: {raw}"


def test_markup_in_tokens_is_shown_as_text(visited):
    carrying = [rel for rel, r in visited.items() if r["xss"]["inPage"]]
    assert carrying, (
        f"no page carries the self-test token {XSS_TOKEN!r}: the check would prove nothing "
        "(book/interactive_views.md shows it)"
    )
    for rel in carrying:
        r = visited[rel]
        assert r["alert"] is None, f"{rel}: the token ran as markup (alert {r['alert']!r})"
        assert not r["xss"]["injected"], f"{rel}: an <img src=x> element was created from a token"
        assert r["xss"]["asText"], f"{rel}: the token {XSS_TOKEN!r} is not shown as text"


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_page_weight(rel):
    """The embedded widget state of a page stays small (views carry rounded data)."""
    size = widget_state_bytes(HTML / rel)
    assert size < 1_500_000, f"{rel}: {size / 1e3:.0f} kB of embedded widget state"


@pytest.mark.parametrize("rel", [p.relative_to(HTML).as_posix() for p in PAGES])
def test_glued_numbers_are_in_the_page(rel):
    """The text's numbers arrived from the cells (myst-nb's pasted text): none empty, none left
    unswept, none shown as a Python repr or a quoted string."""
    html = (HTML / rel).read_text(encoding="utf-8")
    assert "(not yet swept)" not in html, f"{rel}: built while sweeping; rebuild without ATTNBOOK_SWEEPING"
    pasted = re.findall(r'<span class="pasted-text">(.*?)</span>', html, re.S)
    if "{glue:" in html:
        pytest.fail(f"{rel}: a glue role was left unrendered")
    for text in pasted:
        assert text.strip(), f"{rel}: an empty glued value"
        assert not re.search(r"\w\(|^['\"]|&#39;|&quot;", text), f"{rel}: glued value {text!r} is a Python repr"
