"""Set the public repository URL of the book in its one place, and everywhere it is copied.

    python tools/set_repository.py https://github.com/<owner>/<name>

The URL lives in `_config.yml` (`repository.url`), which drives the GitHub and
Colab buttons. The first code cell of every chapter repeats it in its
`pip install` line (a notebook opened in Colab cannot read `_config.yml`);
this script rewrites both, and `tests/test_notebooks.py` checks they agree.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
URL_LINE = re.compile(r"^(  url: )(\S+)\s*$", re.M)
INSTALL = re.compile(r"git\+https://github\.com/[\w.-]+/[\w.-]+?(?:\.git)?(?=[\"'@\s])")


def config_url(text: str | None = None) -> str:
    text = CONFIG.read_text() if text is None else text
    block = text[text.index("repository:"):]
    m = URL_LINE.search(block)
    if not m:
        raise ValueError("_config.yml has no `repository: url:` line")
    return m.group(2)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", argv[0]):
        print(__doc__)
        print("error: give one URL of the form https://github.com/<owner>/<name>")
        return 2
    url = argv[0]
    old = config_url()
    text = CONFIG.read_text()
    start = text.index("repository:")
    CONFIG.write_text(text[:start] + URL_LINE.sub(rf"\g<1>{url}", text[start:], count=1))
    for nb_path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        changed = False
        for cell in nb["cells"]:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            new = INSTALL.sub(f"git+{url}", src)
            if new != src:
                cell["source"] = new.splitlines(keepends=True)
                changed = True
        if changed:
            nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            print(f"updated {nb_path.relative_to(ROOT)}")
    print(f"repository.url: {old} -> {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
