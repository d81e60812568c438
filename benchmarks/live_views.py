"""What a live view costs the reader: bytes and the time to the first answer.

    python benchmarks/live_views.py        (after `make book`; needs chromium + chromedriver)

For every page of the built book that holds a live view (attnbook.widgets.live), in
a fresh headless Chromium (empty cache) over http from localhost:

* the bytes the page fetches when it loads (the runtime is not among them);
* per live view: the size of its exported model (carried in the page's widget
  state), the bytes fetched when it is first used (onnxruntime-web, once per
  page), the time from the click on "run the model" to the drawn answer the
  first time (runtime download and start-up included) and once it is warm.

Times depend on the machine and its load; they are reported, never asserted.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_book_html import HTML, _find, live_view_count, serve, start_chromium  # noqa: E402

BYTES = """
const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
return entries.reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0);
"""


def live_pages(html_dir: Path = HTML) -> list[Path]:
    return [page for page in sorted(html_dir.glob("chapters/*.html")) if live_view_count(page)]


def _answer(driver, view, timeout: float = 120) -> str:
    from selenium.webdriver.common.by import By

    driver.execute_script("arguments[0].dataset.liveState = 'clicked'", view)
    view.find_element(By.CSS_SELECTOR, ".attn-live-run").click()
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = view.get_attribute("data-live-state")
        if state in ("answered", "error"):
            return state
        time.sleep(0.02)
    return "timeout"


def measure(page: Path, base: str) -> list[dict]:
    from selenium.webdriver.common.by import By

    driver, profile = start_chromium(logs=False)
    rows = []
    try:
        rel = page.relative_to(HTML).as_posix()
        driver.get(f"{base}/{rel}")
        deadline = time.time() + 60
        while time.time() < deadline and not driver.find_elements(By.CSS_SELECTOR, "[data-attn-view^='live-']"):
            time.sleep(0.1)
        time.sleep(1.0)
        loaded = driver.execute_script(BYTES)
        for k, view in enumerate(driver.find_elements(By.CSS_SELECTOR, "[data-attn-view^='live-']")):
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", view)
            before = driver.execute_script(BYTES)
            state = _answer(driver, view)
            first = view.get_attribute("data-first-answer-ms")
            fetched = driver.execute_script(BYTES) - before
            _answer(driver, view)
            warm = view.get_attribute("data-last-answer-ms")
            rows.append({"page": rel, "view": view.get_attribute("data-attn-view")[len("live-"):],
                         "state": state, "load_kB": loaded / 1e3 if k == 0 else None,
                         "first_use_kB": fetched / 1e3, "first_ms": first, "warm_ms": warm,
                         "model_kB": view.get_attribute("data-model-bytes")})
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return rows


def main() -> int:
    if not HTML.is_dir():
        print("no built book in _build/html: run `make book` first")
        return 0
    if not (_find("chromium", "chromium-browser", "google-chrome") and _find("chromedriver")):
        print("live views: no chromium/chromedriver, not measured")
        return 0
    pages = live_pages()
    if not pages:
        print("live views: the built book has none")
        return 0
    httpd = serve(HTML)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        rows = [r for page in pages for r in measure(page, base)]
    finally:
        httpd.shutdown()
        httpd.server_close()
    print("Live views (fresh headless Chromium, empty cache, served from localhost)")
    print(f"{'page':48s} {'view':10s} {'page load kB':>12s} {'model kB':>9s} {'1st use kB':>10s} "
          f"{'1st answer ms':>13s} {'warm ms':>8s}")
    print("-" * 116)
    for r in rows:
        load = f"{r['load_kB']:12.0f}" if r["load_kB"] is not None else f"{'':12s}"
        model = f"{int(r['model_kB']) / 1e3:9.0f}" if r["model_kB"] else f"{'?':>9s}"
        print(f"{r['page']:48s} {r['view']:10s} {load} {model} {r['first_use_kB']:10.0f} "
              f"{str(r['first_ms']):>13s} {str(r['warm_ms']):>8s}" + ("" if r["state"] == "answered" else f"  ({r['state']})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
