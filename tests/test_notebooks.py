"""Hygiene of the chapter notebooks: stored clean, listed in the book, installable in Colab."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from set_repository import INSTALL, config_url  # noqa: E402

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_chapters():
    assert NOTEBOOKS, "chapters/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(_code_cells(nb)) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} are stored with outputs; strip them"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: stored with widget state; strip it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_toc(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"chapters/{path.stem}" in toc, f"{path.name} is not in _toc.yml"


def test_toc_lists_only_existing_files():
    toc = (ROOT / "_toc.yml").read_text()
    for entry in re.findall(r"file:\s*(\S+)", toc):
        candidates = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb", "")]
        assert any(c.is_file() for c in candidates), f"_toc.yml lists {entry}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_installs_the_package_from_the_configured_repository(path):
    nb = json.loads(path.read_text())
    first = _source(_code_cells(nb)[0])
    urls = INSTALL.findall(first)
    assert urls, f"{path.name}: the first code cell must pip-install attnbook from the repository"
    expected = f"git+{config_url()}"
    assert all(u == expected for u in urls), (
        f"{path.name}: installs from {urls}, but _config.yml says {config_url()}; "
        "run `make set-repository URL=...`"
    )
    assert "import attnbook" in first and "except ImportError" in first, (
        f"{path.name}: the install must happen only when attnbook is not importable"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_seeds_through_seed_everything(path):
    nb = json.loads(path.read_text())
    code = "\n".join(_source(c) for c in _code_cells(nb))
    assert "seed_everything(" in code, f"{path.name} must seed through attnbook.seed_everything()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_uses_the_python3_kernel(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapters_define_no_library_code(path):
    """Chapters import their models from attnbook; classes belong in the package."""
    nb = json.loads(path.read_text())
    for i, cell in enumerate(_code_cells(nb)):
        for line in _source(cell).splitlines():
            assert not re.match(r"class \w+", line), (
                f"{path.name} cell {i} defines a class ({line.strip()}); move it into attnbook"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_goals_summary_and_hidden_exercise_solutions(path):
    nb = json.loads(path.read_text())
    md = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown").lower()
    assert "learning goals" in md, f"{path.name}: no 'Learning goals' section"
    assert "summary" in md, f"{path.name}: no summary"
    assert "exercise" in md, f"{path.name}: no exercises"
    assert re.search(r":class:\s*dropdown|\{dropdown\}|\{admonition\}", md), (
        f"{path.name}: exercise solutions must be hidden (a dropdown)"
    )


# --- Numbers in the prose are computed --------------------------------------------------------
# A measured number in a markdown cell is glued ({glue:text}`name`) from the cell that computed
# it, or from the committed sweep (attnbook.claims.Chapter.over_seeds); it is never typed in.
# What may stay literal: figures quoted from papers (they name whose), and the definitions of a
# task or an experiment (its lengths, seeds, years). Math ($...$) holds derivations and settings.
_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
_ROLE = re.compile(r"\{(?:cite|cite:\w+|term|doc|ref|numref)\}`[^`]*`")
_LINK = re.compile(r"\]\([^)]*\)|https?://\S+")
_SHAPE = re.compile(r"\d+\s*×\s*\d+")                               # a size: 32 × 32, 3×3
_TYPED = re.compile(
    r"\d*\.\d+"                                                  # a decimal: 0.71
    r"|\d+(?:\.\d+)?\s*[–-]\s*\d+(?:\.\d+)?"                     # a range: 0.71–0.82, 74-83
    r"|\d+(?:\.\d+)?\s*(?:%|percent|percentage points|points|MB|kB|KB|GB|ms|seconds|times|×)"
)
#: Literal on purpose, each with its reason. Global: definitions that are not measurements.
_ALLOWED_EVERYWHERE = [
    r"seeds? 0[–-]4",                    # the seeds the sweep runs (attnbook.claims.SWEEP_SEEDS)
    r"[Cc]hapters? \d[–-]\d",            # cross-references
    r"\b\d+[–-]\d+ (?:words|tokens)",   # the length bins a task is scored in (data definitions)
    r"\b\d+[–-]\d+ on ",                 # "... on 31-40", a length bin again
]
#: Per chapter: quoted figures from papers (whose they are is said next to them) and settings.
_ALLOWED = {
    "03_learning_to_align": [
        r"17\.82", r"26\.75",                 # Bahdanau et al.'s BLEU (their Table 1), quoted
        r"1950[–-]2049",                      # the years the date generator draws from
    ],
    "04_hierarchical_attention": [
        r"6[6-8]\.\d",                        # Yang et al.'s Yelp'13 ablation (HN-AVE/MAX/ATT), quoted
    ],
    "06_vision_transformer": [
        r"1\.3 million",                      # the size of ImageNet, quoted from Dosovitskiy et al.
    ],
    "06b_detr_object_queries": [
        r"section 3\.1",                      # a section number of Carion et al.
        r"iou=0\.5",                          # the overlap an exercise's solution counts as a duplicate
    ],
}


def _typed_numbers(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    allowed = [re.compile(p) for p in _ALLOWED_EVERYWHERE + _ALLOWED.get(path.stem, [])]
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = _source(cell)
        for pattern in (_GLUE_ROLE, _CODE, _MATH, _ROLE, _LINK, _SHAPE):
            text = pattern.sub(" ", text)
        for a in allowed:
            text = a.sub(" ", text)
        for m in _TYPED.finditer(text):
            context = text[max(0, m.start() - 40): m.end() + 20].replace("\n", " ")
            found.append(f"cell {i}: {m.group(0)!r} in …{context}…")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_typed_in_numbers_in_the_prose(path):
    found = _typed_numbers(path)
    assert not found, (
        f"{path.name}: numbers typed into markdown; glue them from the cell that computes them "
        "(attnbook.claims) or, for a quoted paper figure, add it to _ALLOWED with its source:\n  "
        + "\n  ".join(found)
    )


# --- The committed sweep (make sweep) --------------------------------------------------------------
def _sweep():
    from attnbook.claims import load_sweep

    return load_sweep()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_committed_sweep_ran_this_notebook_and_every_run_passed(path):
    """Ranges "over seeds 0–4" in the text come from src/attnbook/sweep.json: it must hold every
    run of this chapter's current code (markdown edits need no new sweep), and every run must
    have passed all of the chapter's checks."""
    from attnbook.claims import notebook_code_hash

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from sweep import RUNS

    chapter = _sweep().get("chapters", {}).get(path.stem)
    redo = f"run `make sweep CHAPTERS=chapters/{path.name}` and commit src/attnbook/sweep.json"
    assert chapter, f"{path.name} is not in the committed sweep; {redo}"
    assert chapter.get("code") == notebook_code_hash(path), f"{path.name}: its code changed since the sweep; {redo}"
    assert set(chapter["runs"]) == set(RUNS), f"{path.name}: the sweep lacks runs {set(RUNS) - set(chapter['runs'])}"
    failed = {r: run["error"] for r, run in chapter["runs"].items() if not run["ok"]}
    assert not failed, f"{path.name}: claims failed in the sweep: {failed}"
    for name, bounds in chapter.get("bounds", {}).items():   # and every stored value keeps its bound
        for run, value in chapter["values"].get(name, {}).items():
            assert bounds.get("at_least", -np.inf) <= value <= bounds.get("at_most", np.inf), (path.name, name, run)
