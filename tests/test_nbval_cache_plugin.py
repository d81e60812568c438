"""The nbval -> jupyter-cache plugin (tests/nbval_cache_plugin.py).

Runs pytest + nbval with the plugin on tiny notebooks in tmp_path and checks
that the passing notebook lands in the jupyter-cache exactly as the book build
(myst-nb -> jupyter-cache -> nbclient) would have stored it, so the build gets
a cache hit, and that a failing notebook is not cached (and still fails).
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

nbf = pytest.importorskip("nbformat")
pytest.importorskip("nbval")
pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")
pytest.importorskip("matplotlib")
jupyter_cache = pytest.importorskip("jupyter_cache")

TESTS = Path(__file__).resolve().parent
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

CELLS = [
    "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(2, 2))\nax.plot([0, 1], [1, 0])\nplt.show()",
    "import ipywidgets as widgets\nslider = widgets.IntSlider(value=7, max=10)\nslider",
    "import anywidget, traitlets\n"
    "class Counter(anywidget.AnyWidget):\n"
    "    _esm = 'export default { render({ model, el }) { el.textContent = model.get(\"count\"); } }'\n"
    "    count = traitlets.Int(0).tag(sync=True)\n"
    "counter = Counter()\ncounter.count += 41\ndisplay(counter)",
    "",  # nbclient does not execute empty cells
    "assert slider.value == 7\n6 * 7",
    "answer = 6 * 7\nanswer;",  # a trailing ";" silences the value, as in nbclient's run
]


def _notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbf.v4.new_markdown_cell("# A tiny chapter"))
    nb.cells.extend(nbf.v4.new_code_cell(src) for src in cells)
    return nb


def _outputs_summary(nb):
    """Per code cell: execution count and (type, stream name or mime types) of each output."""
    return [
        (
            c.execution_count,
            [(o.output_type, o.get("name") or sorted(o.get("data", {}))) for o in c.outputs],
        )
        for c in nb.cells
        if c.cell_type == "code"
    ]


@pytest.fixture(scope="module")
def nbval_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbval_cache")
    good, bad = tmp / "good.ipynb", tmp / "bad.ipynb"
    nbf.write(_notebook(CELLS), good)
    nbf.write(_notebook(["x = 1", "assert x == 2, 'a claim that fails'"]), bad)
    cache_dir = tmp / ".jupyter_cache"
    env = dict(os.environ, PYTHONPATH=str(TESTS), MPLBACKEND="Agg")
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "nbval_cache_plugin",
         "--nbval-jupyter-cache", str(cache_dir), "--nbval-lax",
         "-p", "no:cacheprovider", "--rootdir", str(tmp), "-o", "addopts=",
         str(good), str(bad)],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=300,
    )
    return tmp, good, bad, cache_dir, proc


def test_nbval_still_fails_on_a_failing_notebook(nbval_run):
    _, _, _, _, proc = nbval_run
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 failed, 8 passed" in out, out  # 7 + 2 code cells, the assert fails
    assert "stored 1 executed notebook(s)" in out, out


def test_passing_notebook_is_cached_with_outputs_and_widget_state(nbval_run):
    _, good, _, cache_dir, _ = nbval_run
    cache = jupyter_cache.get_cache(str(cache_dir))
    source = nbf.read(good, as_version=4)  # what myst-nb reads: no outputs
    record = cache.match_cache_notebook(source)  # raises KeyError on a miss
    assert record.uri == str(good.resolve())
    _, nb = cache.merge_match_into_notebook(source)  # what myst-nb renders

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4, None, 5, 6]
    streams = {o.name: o.text for o in code[0].outputs if o.output_type == "stream"}
    assert streams == {"stdout": "to stdout\n", "stderr": "to stderr\n"}
    assert any("image/png" in o.get("data", {}) for o in code[1].outputs)
    views = [o.data[WIDGET_VIEW]["model_id"] for c in code for o in c.outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 2
    assert code[5].outputs[0].output_type == "execute_result"
    assert code[5].outputs[0].data["text/plain"] == "42"
    assert code[6].outputs == []  # "answer;": silenced, as nbclient's run silences it

    assert nb.metadata["language_info"]["name"] == "python"
    state = nb.metadata["widgets"][WIDGET_STATE]
    assert (state["version_major"], state["version_minor"]) == (2, 0)
    models = state["state"]
    assert set(views) <= set(models)
    by_name = {m["model_name"]: m for m in models.values()}
    assert by_name["IntSliderModel"]["state"]["value"] == 7
    assert by_name["AnyModel"]["model_module"] == "anywidget"
    assert by_name["AnyModel"]["state"]["count"] == 41
    assert "render" in by_name["AnyModel"]["state"]["_esm"]


def test_failing_notebook_is_not_cached(nbval_run):
    _, _, bad, cache_dir, proc = nbval_run
    cache = jupyter_cache.get_cache(str(cache_dir))
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbf.read(bad, as_version=4))
    assert len(cache.list_cache_records()) == 1
    assert "bad.ipynb: not stored in the jupyter-cache" in proc.stdout + proc.stderr


def test_cached_notebook_matches_what_the_book_build_would_execute(nbval_run):
    """Same outputs, counts and widget models as jupyter-cache's own nbclient run."""
    from jupyter_cache.executors.utils import single_nb_execution

    tmp, good, _, cache_dir, _ = nbval_run
    source = nbf.read(good, as_version=4)
    _, cached = jupyter_cache.get_cache(str(cache_dir)).merge_match_into_notebook(source)
    executed = copy.deepcopy(source)
    result = single_nb_execution(executed, cwd=str(tmp), timeout=120, allow_errors=False)
    assert result.err is None, result.exc_string
    assert _outputs_summary(cached) == _outputs_summary(executed)

    def model_names(nb):
        return sorted(m["model_name"] for m in nb.metadata["widgets"][WIDGET_STATE]["state"].values())

    assert model_names(cached) == model_names(executed)
    assert cached.metadata["language_info"] == executed.metadata["language_info"]


def test_a_failing_run_removes_an_older_entry_for_the_same_code(tmp_path):
    """The cache is keyed on the code only: when a claim stops holding (here: a
    file the notebook reads changes; in the course: src/ changes), the entry of
    the earlier, passing run must go, so the book build re-executes and fails."""
    nb_path, cache_dir = tmp_path / "claim.ipynb", tmp_path / ".jupyter_cache"
    nbf.write(_notebook(["from pathlib import Path\nassert Path('value.txt').read_text() == 'ok'"]), nb_path)
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "-p", "nbval_cache_plugin", "--nbval-jupyter-cache",
           str(cache_dir), "--nbval-lax", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
           "-o", "addopts=", str(nb_path)]
    cache = jupyter_cache.get_cache(str(cache_dir))
    source = nbf.read(nb_path, as_version=4)

    (tmp_path / "value.txt").write_text("ok")
    first = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    cache.match_cache_notebook(source)

    (tmp_path / "value.txt").write_text("changed")
    second = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stdout + second.stderr
    with pytest.raises(KeyError):
        cache.match_cache_notebook(source)


def test_output_timeout_option_sets_nbval_cells_wait(monkeypatch):
    sys.path.insert(0, str(TESTS))
    import nbval_cache_plugin as plugin

    class Config:
        def __init__(self, value):
            self.value = value

        def getoption(self, name, default=None):
            return self.value if name == "nbval_output_timeout" else default

    class Cell:            # nbval's IPyNbCell sets output_timeout = 5 in __init__
        output_timeout = 5

    cell, other = Cell(), object()
    plugin.pytest_collection_modifyitems(Config(60.0), [cell, other])
    assert cell.output_timeout == 60.0
    plugin.pytest_collection_modifyitems(Config(None), [cell])    # option not given: nbval's own value stays
    assert cell.output_timeout == 60.0
    with pytest.raises(pytest.UsageError, match="positive"):
        plugin.pytest_collection_modifyitems(Config(0.0), [cell])
    from nbval.plugin import IPyNbCell
    assert "output_timeout" in IPyNbCell.__init__.__code__.co_names   # the attribute nbval reads
