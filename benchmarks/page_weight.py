"""Size of each built page and of the widget state embedded in it.

    python benchmarks/page_weight.py        (after `make book`)

Every interactive view carries its precomputed data in the page, as
`<script type="application/vnd.jupyter.widget-state+json">`; this prints how
much that is per page, so a chapter that grows heavy is noticed.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
STATE = re.compile(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)
VIEW = re.compile(r'application/vnd\.jupyter\.widget-view\+json')


def page_weights(html_dir: Path = HTML) -> list[dict]:
    rows = []
    for page in sorted(html_dir.glob("**/*.html")):
        if "_static" in page.parts or page.name in {"genindex.html", "search.html"}:
            continue
        text = page.read_text(encoding="utf-8")
        state = sum(len(m.encode()) for m in STATE.findall(text))
        rows.append({"page": str(page.relative_to(html_dir)), "page_kB": len(text.encode()) / 1e3,
                     "widget_state_kB": state / 1e3, "views": len(VIEW.findall(text))})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'page':45s} {'page kB':>8s} {'widget state kB':>16s} {'views':>6s}", "-" * 78]
    for r in rows:
        lines.append(f"{r['page']:45s} {r['page_kB']:8.1f} {r['widget_state_kB']:16.1f} {r['views']:6d}")
    return "\n".join(lines)


def main() -> int:
    if not HTML.is_dir():
        print("no built book in _build/html: run `make book` first")
        return 0
    print("Page weight of the built book")
    print(format_table(page_weights()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
