"""The live views split typed text in the browser with js/tokenizers.js; it must give
the tokens attnbook.data.tokenize gives, on every test input and on hostile ones."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from attnbook.data.dates import DATE_FORMATS, format_date, make_dates_data, DatesConfig
from attnbook.data.language import make_language_data
from attnbook.data.reviews import make_reviews_data
from attnbook.data.tokenize import TOKENIZERS, normalize, tokenize_date, tokenize_masked, tokenize_review
from attnbook.widgets.base import JS_DIR

HOSTILE = [
    "", " ", "\t\n", "<img src=x onerror=alert(1)>", "<script>alert('x')</script> [MASK]",
    "Ünïcödé DÉCEMBRE 25th", "İstanbul ΣΊΣΥΦΟΣ straße", "emoji 🙂 in 🇫🇷 text 👍🏽.",
    "non\u00a0breaking\u2003spaces\u3000and\ufeffbom", "file\x1cseparator\x85next line",
    "tabs\tand\nnewlines\r\n[mask][MASK] [Mask]x", "١٢٣ arabic digits ٤", "12345678901234567890",
    "a.b!c?d..", "!!!", "[mask", "mask]", "  leading and trailing  ", "Ⅻ roman ½ fraction ²",
    "\u0000nul\u0007bell", "quote \" and ' and ` and \\ backslash",
]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run the JavaScript tokenizers")
    return node


def _run_js(cases: list[tuple[str, str]]) -> list:
    """Each (tokenizer name, text) through js/tokenizers.js in Node."""
    source = (JS_DIR / "tokenizers.js").read_text(encoding="utf-8")
    script = source + """
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const out = cases.map(([name, text]) => TOKENIZERS[name](text));
  process.stdout.write(JSON.stringify(out));
});
"""
    r = subprocess.run([_node(), "-e", script], input=json.dumps(cases), capture_output=True, text=True,
                       encoding="utf-8", timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _cases() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []
    dates = make_dates_data(DatesConfig(n_train=10, n_test=400), seed=0)
    for e in dates.test:  # every test date, as a person would type it, in three cases
        typed = " ".join(e.source).replace(" , ", ", ")
        cases += [("date", typed), ("date", typed.upper()), ("date", typed.title())]
    for fmt in DATE_FORMATS:
        cases.append(("date", " ".join(format_date("1999-12-31", fmt).source)))
    reviews = make_reviews_data()
    for r in reviews.test:
        text = " ".join(" ".join(s) for s in r.sentences)
        cases += [("review", text), ("review", text.replace(" .", ".").capitalize())]
    lang = make_language_data(seed=0)
    for s in lang.test:
        for i in range(len(s.tokens)):
            words = list(s.tokens)
            words[i] = "[MASK]"
            cases.append(("masked", " ".join(words)))
    for text in HOSTILE:
        cases += [(name, text) for name in TOKENIZERS]
    return cases


def test_js_tokenizers_agree_with_python_on_every_test_input():
    cases = _cases()
    assert len(cases) > 3000
    got = _run_js(cases)
    assert len(got) == len(cases)
    differ = [(name, text, g, TOKENIZERS[name](text)) for (name, text), g in zip(cases, got)
              if g != TOKENIZERS[name](text)]
    assert not differ, f"{len(differ)} of {len(cases)} inputs split differently, first: {differ[0]}"


def test_tokenizers_read_typed_text_as_the_tasks_tokens():
    assert tokenize_date("Tuesday, March 3rd 1998") == ["tuesday", ",", "march", "3", "rd", "1", "9", "9", "8"]
    assert tokenize_review("I love this phone. The box is bad!  ok") == [
        ["i", "love", "this", "phone", "."], ["the", "box", "is", "bad", "!"], ["ok"]]
    assert tokenize_masked("On Monday [MASK] gave her dog some bones") == [
        "on", "monday", "[mask]", "gave", "her", "dog", "some", "bones"]
    assert tokenize_masked("<img src=x onerror=alert(1)>")[:3] == ["<", "img", "src"]
    assert tokenize_date("١٢٣") == ["١", "٢", "٣"]  # only ASCII digits are digits: these are unknown words
    assert tokenize_review("") == [] and tokenize_masked(" \u3000 ") == [] and tokenize_date("\ufeff") == []
    assert normalize("A\u00a0\u00a0B ") == "a b"
    for tokenizer in TOKENIZERS.values():
        with pytest.raises(ValueError, match="string"):
            tokenizer(["not", "text"])
