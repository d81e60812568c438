"""pytest plugin: store the notebooks that nbval executed in the book's jupyter-cache.

Why
---
``make test`` runs every chapter twice: nbval executes it as a test, then the
book build (myst-nb, ``execute_notebooks: cache``) executes it again through
jupyter-cache/nbclient. This plugin makes nbval's run the only one: for each
notebook in which *every* code cell passed under nbval, it writes the executed
notebook into the jupyter-cache, so the book build that follows gets a cache
hit ("Using cached notebook") and does not start a kernel.

How
---
* Loaded with ``-p nbval_cache_plugin`` (``tests/`` on ``PYTHONPATH``) and
  switched on with ``--nbval-jupyter-cache DIR`` (the ``execute.cache`` folder
  of ``_config.yml``). Without that option it does nothing.
* While nbval runs a cell, the plugin records every IOPub message nbval reads
  (it wraps ``IPyNbFile.get_kernel_message`` and
  ``RunningKernel.execute_cell_input`` of that notebook, to know the cell's
  ``msg_id``). nbval's own ``test_outputs`` are *not* used: nbval merges
  streams, ignores ``clear_output``/``update_display_data`` and drops comm
  messages, so they differ from what the book build would store.
* After each passing cell it replays that cell's messages through
  ``nbclient.NotebookClient.process_message`` -- the very code the book build
  runs -- so outputs (streams incl. stderr, display_data, images,
  ``application/vnd.jupyter.widget-view+json``, ``clear_output``, display ids,
  Output widgets) and the widget state are built exactly as nbclient builds
  them. Execution counts are set as nbclient sets them (1, 2, ... over the
  non-empty cells). Cells run with ``store_history=True``, as nbclient runs
  them (nbval's own default is False, under which IPython reads the wrong
  cell to decide whether a trailing ``;`` silences a cell's value).
* After the last cell, while the kernel is still alive, it asks the kernel for
  ``language_info`` (nbclient stores it; myst-nb picks the lexer from it), adds
  the widget state with nbclient's ``set_widgets_metadata`` to
  ``metadata.widgets["application/vnd.jupyter.widget-state+json"]`` and calls
  ``jupyter_cache.get_cache(DIR).cache_notebook_bundle(...)`` just like
  ``myst_nb.core.execute.cache`` does after its own execution. The cached
  notebook is the source notebook (same kernelspec, same code-cell sources and
  metadata, so the same jupyter-cache hash) with outputs filled in; myst-nb's
  ``merge_match_into_notebook`` then copies the outputs and the ``kernelspec``,
  ``language_info`` and ``widgets`` metadata into the page.

A notebook is NOT cached (the book build then executes it itself, as before)
when any of its cells failed, was skipped or xfailed (``NBVAL_SKIP``, timeout),
when not all of its cells ran (``-k``, ``-x``, deselection), when a cell is
tagged ``skip-execution`` (nbclient would not run it, nbval does), or when
anything in this plugin goes wrong (reported as a warning, never as a test
failure). An entry that an earlier run stored for the same code is then
removed as well: the cache is keyed on the code alone, and nbval has just
shown that its outputs may no longer hold.
"""
from __future__ import annotations

import copy
import time
import warnings
from pathlib import Path
from queue import Empty
from typing import Any, Dict, List, Optional

import pytest

# nbclient's default NotebookClient.skip_cells_with_tag
_SKIP_EXECUTION_TAG = "skip-execution"


def pytest_addoption(parser):
    group = parser.getgroup("nbval")
    group.addoption(
        "--nbval-jupyter-cache",
        action="store",
        default=None,
        metavar="DIR",
        help="Store every notebook whose cells all passed under nbval, executed "
        "(outputs and widget state as nbclient stores them), in the jupyter-cache "
        "at DIR, so that a myst-nb/Jupyter Book build in cache mode does not "
        "execute it again.",
    )
    group.addoption(
        "--nbval-output-timeout",
        action="store",
        type=float,
        default=None,
        metavar="SECONDS",
        help="How long nbval waits for each output message of a cell after the "
        "kernel has replied (nbval's own value is a fixed 5 s; a machine that "
        "stalls for a moment then fails a cell that has finished).",
    )


def pytest_collection_modifyitems(config, items):
    timeout = config.getoption("nbval_output_timeout", None)
    if timeout is None:
        return
    if timeout <= 0:
        raise pytest.UsageError(f"--nbval-output-timeout must be positive, got {timeout}")
    for item in items:
        if hasattr(item, "output_timeout"):   # nbval's IPyNbCell
            item.output_timeout = timeout


def pytest_configure(config):
    cache_dir = config.getoption("nbval_jupyter_cache", None)
    opt = config.option
    if cache_dir and (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)):
        config.pluginmanager.register(NbvalJupyterCache(cache_dir), "nbval-jupyter-cache")


class NbvalCacheWarning(UserWarning):
    """Something kept a notebook out of the jupyter-cache (never a test failure)."""


class _NotebookRun:
    """What is known about one notebook (one nbval ``IPyNbFile``) while it runs."""

    def __init__(self, nbfile):
        from nbclient import NotebookClient

        self.nbfile = nbfile
        self.path = Path(str(nbfile.fspath)).absolute()
        self.problem: Optional[str] = None
        # The source notebook as read by nbval; every code cell gets the outputs
        # nbclient would give it.
        self.nb = copy.deepcopy(nbfile.nb)
        self.code_index: List[int] = [
            i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"
        ]
        self.passed: set = set()
        self.messages: List[Dict[str, Any]] = []
        self.msg_ids: List[str] = []
        self.started = time.monotonic()
        # Replays the recorded messages; never starts a kernel itself.
        # record_timing=False: as jupyter-cache (single_nb_execution) runs nbclient
        self.client = NotebookClient(self.nb, record_timing=False)
        self.client.code_cells_executed = 0
        for i in self.code_index:
            if _SKIP_EXECUTION_TAG in self.nb.cells[i].metadata.get("tags", []):
                self.spoil(f"cell {i} is tagged {_SKIP_EXECUTION_TAG!r}")
        self._wrap_nbval()

    def spoil(self, why: str) -> None:
        if self.problem is None:
            self.problem = why

    def _wrap_nbval(self) -> None:
        nbfile, kernel = self.nbfile, self.nbfile.kernel
        if kernel is None:
            self.spoil("nbval started no kernel")
            return
        get_message = nbfile.get_kernel_message
        run = self

        def get_kernel_message(*args, **kwargs):
            msg = get_message(*args, **kwargs)
            stream = kwargs.get("stream", args[1] if len(args) > 1 else "iopub")
            if stream == "iopub":
                run.messages.append(msg)
            return msg

        def execute_cell_input(cell_input, allow_stdin=None):
            # As nbclient runs a cell: store_history=True. nbval's own call passes False,
            # and IPython then decides whether a trailing ";" silences a cell's value by
            # reading the *previous* cell from the history, so a chapter's
            # ``claims.over_seeds(...);`` would print its value in the page.
            msg_id = kernel.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin,
                                       stop_on_error=False)
            run.msg_ids.append(msg_id)
            return msg_id

        nbfile.get_kernel_message = get_kernel_message
        kernel.execute_cell_input = execute_cell_input
        # the kernel client, for nbclient's Output-widget mimic (it syncs back)
        self.client.kc = kernel.kc

    def before_cell(self) -> None:
        self.messages = []
        self.msg_ids = []

    def after_cell(self, item) -> None:
        """Replay the cell's IOPub messages as nbclient's execute_cell does."""
        from nbclient.exceptions import CellExecutionComplete

        if self.problem:
            return
        if len(self.msg_ids) != 1:
            self.spoil(f"cell {item.cell_num}: expected one execute request, saw {len(self.msg_ids)}")
            return
        index = self.code_index[item.cell_num]
        cell = self.nb.cells[index]
        self.passed.add(item.cell_num)
        if not cell.source.strip():
            return  # nbclient does not execute empty cells and leaves them as they are
        client = self.client
        client.code_cells_executed += 1
        cell.outputs = []
        client.clear_before_next_output = False
        msg_id = self.msg_ids[0]
        for msg in self.messages:
            if msg["parent_header"].get("msg_id") != msg_id:
                continue  # nbclient drops these too
            try:
                client.process_message(msg, cell, index)
            except CellExecutionComplete:
                break
        else:
            self.spoil(f"cell {item.cell_num}: no 'idle' status recorded")
            return
        cell.execution_count = client.code_cells_executed
        for out in cell.outputs:  # the kernel's own count (store_history=True in nbclient)
            if out.get("output_type") == "execute_result":
                out["execution_count"] = cell.execution_count

    def language_info(self, timeout: float = 30) -> Dict[str, Any]:
        kc = self.nbfile.kernel.kc
        msg_id = kc.kernel_info()
        deadline = time.monotonic() + timeout
        while True:
            msg = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]["language_info"]

    def finish(self, cache_dir: str) -> Optional[str]:
        """Write the executed notebook into the cache; return the reason if not.

        After nbval has run a notebook the cache holds this run's result for it
        or nothing: an entry for the same code from an earlier run is removed
        when this run is not stored (the cache is keyed on the code only, so
        such an entry would let the book build show outputs that no longer
        hold, e.g. after a change in src/).
        """
        from jupyter_cache import get_cache

        cache = get_cache(cache_dir)
        why = self._why_not()
        if why is None:
            try:
                self._store(cache)
            except Exception as exc:
                why = f"plugin error: {exc!r}"
        if why is not None:
            try:
                record = cache.match_cache_notebook(self.nb)
            except KeyError:
                pass
            else:
                cache.remove_cache(record.pk)
        return why

    def _why_not(self) -> Optional[str]:
        if self.problem:
            return self.problem
        missing = sorted(set(range(len(self.code_index))) - self.passed)
        if missing:
            return f"code cells {missing} did not run or did not pass"
        kernel = self.nbfile.kernel
        if kernel is None or not kernel.is_alive():
            return "the kernel is no longer alive"
        try:
            self.nb.metadata["language_info"] = self.language_info()
        except Empty:
            return "the kernel did not answer kernel_info"
        return None

    def _store(self, cache) -> None:
        from jupyter_cache.base import CacheBundleIn

        self.client.set_widgets_metadata()
        cache.cache_notebook_bundle(
            CacheBundleIn(
                self.nb,
                str(self.path),
                data={"execution_seconds": time.monotonic() - self.started},
            ),
            check_validity=False,
            overwrite=True,
        )


class NbvalJupyterCache:
    """The registered plugin object: one ``_NotebookRun`` per notebook file."""

    def __init__(self, cache_dir: str):
        self.cache_dir = cache_dir
        # keyed by nbval's IPyNbFile node (identity), None once a notebook is out
        self.runs: Dict[Any, Optional[_NotebookRun]] = {}
        self.cached: List[str] = []
        self.not_cached: List[str] = []

    @staticmethod
    def _is_nbval_cell(item) -> bool:
        try:
            from nbval.plugin import IPyNbCell
        except ImportError:  # pragma: no cover
            return False
        return isinstance(item, IPyNbCell)

    def _warn(self, path, why: str) -> None:
        warnings.warn(
            NbvalCacheWarning(f"{path}: not stored in the jupyter-cache ({why}); "
                              "the book build will execute it")
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        if not self._is_nbval_cell(item):
            return (yield)
        key = item.parent
        if key not in self.runs:
            try:
                self.runs[key] = _NotebookRun(item.parent)
            except Exception as exc:  # never break the tests
                self.runs[key] = None
                self.not_cached.append(str(item.parent.fspath))
                self._warn(item.parent.fspath, f"plugin error: {exc!r}")
        run = self.runs[key]  # None: this notebook is out
        if run is not None:
            run.before_cell()
        try:
            result = yield
        except BaseException:
            if run is not None:
                run.spoil(f"code cell {item.cell_num} failed or was skipped")
            raise
        if run is not None:
            try:
                run.after_cell(item)
            except Exception as exc:
                run.spoil(f"plugin error: {exc!r}")
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        # any cell that did not plainly pass (setup error, skip, xfail, ...)
        if report.when in ("setup", "call") and (
            report.outcome != "passed" or hasattr(report, "wasxfail")
        ):
            run = self.runs.get(item.parent) if self._is_nbval_cell(item) else None
            if run is not None:
                run.spoil(f"code cell {item.cell_num}: {report.outcome} in {report.when}")
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        # Runs before pytest's own teardown of the notebook, i.e. while nbval's
        # kernel is still alive.
        if not self._is_nbval_cell(item):
            return
        if nextitem is not None and nextitem.parent is item.parent:
            return  # not the notebook's last cell
        run = self.runs.pop(item.parent, None)
        if run is None:
            return
        try:
            why = run.finish(self.cache_dir)
        except Exception as exc:
            why = f"plugin error: {exc!r}"
        if why is None:
            self.cached.append(str(run.path))
        else:
            self.not_cached.append(str(run.path))
            self._warn(run.path, why)

    def pytest_terminal_summary(self, terminalreporter):
        if self.cached or self.not_cached:
            terminalreporter.write_line(
                f"nbval-jupyter-cache: stored {len(self.cached)} executed notebook(s) in "
                f"{self.cache_dir}; left {len(self.not_cached)} for the book build to execute"
            )
