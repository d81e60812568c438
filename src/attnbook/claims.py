"""The numbers a chapter states: computed, glued into its text, checked, and swept.

A chapter never types a measured number into its prose. It hands the number
to a :class:`Chapter` instead::

    claims = Chapter("03_learning_to_align")
    claims.check("exact_attention", exact, at_least=0.6)   # asserted, glued, recorded
    claims.measured("bleu_attention", bleu, ".0f")          # glued and recorded only
    claims.over_seeds("exact_attention")                    # "0.71–0.82", from the committed sweep

and its markdown says ``{glue:text}`exact_attention``` (this run's value),
``{glue:text}`exact_attention_bound``` (the threshold the cell checks) and
``{glue:text}`exact_attention_seeds``` (the range over the sweep's runs).

The sweep (``make sweep``, ``benchmarks/sweep.py``) executes the chapter
notebooks themselves under several seeds and thread counts; every value a
chapter glues is appended to the file named by ``ATTNBOOK_RECORD`` and stored
in ``attnbook/sweep.json``, which :meth:`Chapter.over_seeds` reads. Re-running
the sweep changes the sentences that quote it.
"""
from __future__ import annotations

import json
import math
import os
import numbers
from pathlib import Path

__all__ = ["Chapter", "ClaimError", "SWEEP_FILE", "SWEEP_SEEDS", "load_sweep", "notebook_code_hash", "record", "format_value", "percent", "points", "power_of_ten"]

#: The committed results of ``make sweep`` (package data, so Colab has it too).
SWEEP_FILE = Path(__file__).with_name("sweep.json")
#: The seeds whose runs (default threads) "over seeds" statements summarise.
SWEEP_SEEDS = (0, 1, 2, 3, 4)
#: Environment variable: a JSON-lines file every glued value is appended to (set by the sweep).
RECORD_ENV = "ATTNBOOK_RECORD"
#: Environment variable set by the sweep: sentences that quote a quantity the sweep
#: has not measured yet read "(not yet swept)" instead of failing.
SWEEPING_ENV = "ATTNBOOK_SWEEPING"

class ClaimError(AssertionError):
    """A chapter's claim did not hold in this run (an AssertionError, so nbval reports it)."""


def percent(value: float) -> str:
    """A fraction as the text writes a percentage: ``percent(0.953) == "95 %"``."""
    return f"{100 * float(value):.0f} %"


def points(value: float) -> str:
    """A difference of two fractions as the text writes it: ``points(0.153) == "15 percentage points"``
    (``points(0.01) == "1 percentage point"``)."""
    number = f"{100 * float(value):.0f}"
    return f"{number} percentage point" + ("" if number in ("1", "-1") else "s")


def power_of_ten(value: float) -> str:
    """An order of magnitude as the text writes it: ``power_of_ten(3e-16) == "10⁻¹⁶"``."""
    value = float(value)
    if not value > 0 or math.isinf(value):
        raise ValueError(f"power_of_ten needs a positive finite number, got {value!r}")
    return "10" + str(round(math.log10(value))).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def format_value(value, fmt) -> str:
    """``value`` as the text shows it: ``fmt`` is a format spec (``".2f"``) or a function."""
    if callable(fmt):
        return fmt(value)
    return format(value, fmt)


def record(chapter: str, name: str, value, text: str, bounds: dict | None = None) -> None:
    """Append one glued value to the file named by ``ATTNBOOK_RECORD`` (no-op when unset)."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    elif isinstance(value, numbers.Real):
        value = float(value)
    elif not isinstance(value, (str, bool, type(None))):
        value = str(value)
    row = {"chapter": chapter, "name": name, "value": value, "text": text}
    if bounds:
        row["bounds"] = bounds
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def notebook_code_hash(path: Path | str) -> str:
    """A hash of a notebook's code cells: the sweep stores it, so a test can tell a stale sweep."""
    import hashlib

    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    code = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            for c in nb["cells"] if c["cell_type"] == "code"]
    return hashlib.sha256("\n\x00\n".join(code).encode("utf-8")).hexdigest()[:16]


def load_sweep(path: Path | str | None = None) -> dict:
    """The committed sweep: ``{"runs": {...}, "chapters": {chapter: {...}}}``."""
    path = Path(path) if path is not None else SWEEP_FILE
    if not path.exists():
        return {"runs": {}, "chapters": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _glue(name: str, text: str) -> None:
    try:
        from myst_nb import glue
    except ImportError:   # Colab: the cells print the same numbers
        return
    glue(name, text, display=False)


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            value = float(value)   # a 0-d tensor or array
        except (TypeError, ValueError):
            raise TypeError(f"claim {name!r}: expected a number, got {type(value).__name__}") from None
    value = float(value)
    if math.isnan(value):
        raise ClaimError(f"claim {name!r}: the measured value is NaN")
    return value


class Chapter:
    """The claims of one chapter notebook, named by its file's stem (``"03_learning_to_align"``)."""

    def __init__(self, name: str, *, sweep: dict | None = None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"Chapter needs the notebook's name, e.g. '03_learning_to_align'; got {name!r}")
        self.name = name
        self._sweep = sweep
        self.values: dict[str, object] = {}

    # -- this run -------------------------------------------------------------------------------
    def measured(self, name: str, value, fmt=".2f"):
        """Glue ``value`` (formatted with ``fmt``) under ``name`` and record it; return ``value``."""
        text = value if isinstance(value, str) else format_value(value, fmt)
        self.values[name] = value
        _glue(name, text)
        record(self.name, name, value, text)
        return value

    def check(self, name: str, value, *, at_least=None, at_most=None, fmt=".2f"):
        """Glue and record ``value`` like :meth:`measured`, then assert ``at_least <= value <= at_most``.

        The bound is glued too, as ``{name}_bound`` (the lower bound, or the
        upper one when there is no lower), so the text states the threshold the
        cell checks. A value outside the bound raises :class:`ClaimError` with
        both numbers in the message.
        """
        if at_least is None and at_most is None:
            raise ValueError(f"claim {name!r}: give at_least, at_most or both")
        number = _number(name, value)
        bounds = {}
        if at_least is not None:
            bounds["at_least"] = float(at_least)
        if at_most is not None:
            bounds["at_most"] = float(at_most)
        if at_least is not None and at_most is not None and at_least > at_most:
            raise ValueError(f"claim {name!r}: at_least {at_least} is above at_most {at_most}")
        text = format_value(number, fmt)
        self.values[name] = number
        _glue(name, text)
        bound = at_least if at_least is not None else at_most
        _glue(f"{name}_bound", format_value(bound, fmt))
        if at_least is not None and at_most is not None:
            _glue(f"{name}_upper", format_value(at_most, fmt))
        record(self.name, name, number, text, bounds)
        if at_least is not None and not number >= at_least:
            raise ClaimError(f"{self.name}: {name} = {number:.6g}, but the text claims at least {at_least}")
        if at_most is not None and not number <= at_most:
            raise ClaimError(f"{self.name}: {name} = {number:.6g}, but the text claims at most {at_most}")
        return value

    # -- over the sweep ---------------------------------------------------------------------------
    def sweep_values(self, name: str, seeds=SWEEP_SEEDS) -> list:
        """The committed sweep's values of ``name`` in this chapter, one per seed run (default threads)."""
        sweep = self._sweep if self._sweep is not None else load_sweep()
        chapter = sweep.get("chapters", {}).get(self.name, {})
        per_run = chapter.get("values", {}).get(name, {})
        runs = [f"seed{s}" for s in seeds]
        missing = [r for r in runs if r not in per_run]
        if missing:
            raise KeyError(
                f"the committed sweep has no value of {name!r} in {self.name} for run(s) {missing}; "
                f"run `make sweep CHAPTERS=chapters/{self.name}.ipynb`"
            )
        return [per_run[r] for r in runs]

    def over_seeds(self, name: str, fmt=".2f", *, scale: float = 1.0, seeds=SWEEP_SEEDS) -> str:
        """``"lo–hi"`` of ``name`` over the committed sweep's seed runs, glued as ``{name}_seeds``.

        ``scale`` multiplies the values first (e.g. 100 for percentages). While
        the sweep itself runs (``ATTNBOOK_SWEEPING`` set) a quantity it has not
        stored yet reads "(not yet swept)".
        """
        try:
            values = [float(v) * scale for v in self.sweep_values(name, seeds)]
        except KeyError:
            if os.environ.get(SWEEPING_ENV):
                text = "(not yet swept)"
                _glue(f"{name}_seeds", text)
                return text
            raise
        lo, hi = format_value(min(values), fmt), format_value(max(values), fmt)
        text = lo if lo == hi else f"{lo}–{hi}"
        _glue(f"{name}_seeds", text)
        return text
