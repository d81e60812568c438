"""Typed text -> the tokens of a task: the one place where a reader's words are split.

The live views run these in the browser too: ``attnbook/js/tokenizers.js`` is
their JavaScript twin, and ``tests/test_tokenizers_js.py`` runs both (Python
here, Node there) on every test input and on hostile ones (markup, emoji,
non-ASCII letters and spaces, empty text) and requires the same tokens.

So that the twins can agree character for character, the rules use nothing
whose meaning differs between Python and JavaScript:

* letters are lower-cased in ASCII only (``A``-``Z``); any other character keeps
  its case and becomes a token of its own, which no vocabulary knows (``<unk>``);
* the spaces are an explicit list (:data:`SPACES`), not a regular expression's
  ``\\s`` (Python's and JavaScript's differ at a few code points);
* text is split into code points (JavaScript's regular expressions use the ``u``
  flag), so an emoji is one token on both sides.

=====================  ==========================================================
``tokenize_date``      chapter 3: digits one by one, ordinals split:
                       ``"Tuesday, March 3rd 1998"`` -> ``tuesday , march 3 rd 1 9 9 8``
``tokenize_review``    chapter 4: sentences of words, a sentence ends at ``.``,
                       ``!`` or ``?``: ``"I love it. Bad box!"`` ->
                       ``[[i, love, it, .], [bad, box, !]]``
``tokenize_masked``    chapter 5b: words, with ``[MASK]`` (any case) one token
                       ``[mask]``
=====================  ==========================================================
"""
from __future__ import annotations

import re
from typing import List

__all__ = ["SPACES", "normalize", "tokenize_date", "tokenize_review", "tokenize_masked", "TOKENIZERS"]

#: every character read as a space: ASCII's and Unicode's separators and the byte-order mark
SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
          "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
_SPACE_RUN = re.compile("[" + re.escape(SPACES) + "]+")
_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DATE_PIECES = re.compile(r"[0-9]+|[a-z]+|[^ 0-9a-z]")
_WORD_PIECES = re.compile(r"[a-z]+|[0-9]+|[^ 0-9a-z]")
_MASKED_PIECES = re.compile(r"\[mask\]|[a-z]+|[0-9]+|[^ 0-9a-z]")
#: the tokens that end a sentence of a review
SENTENCE_ENDS = (".", "!", "?")


def normalize(text: str) -> str:
    """``text`` lower-cased (ASCII letters only), every run of spaces one ``" "``, trimmed."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    return _SPACE_RUN.sub(" ", text.translate(_UPPER)).strip(" ")


def tokenize_date(text: str) -> List[str]:
    """Split a date typed by a person into the dates task's source tokens.

    Lower-cases, separates punctuation, spells numbers digit by digit and
    splits ordinals: ``"Tuesday, March 3rd 1998"`` ->
    ``['tuesday', ',', 'march', '3', 'rd', '1', '9', '9', '8']``.
    Words the task does not know stay as they are (the model reads them as ``<unk>``).
    """
    tokens: List[str] = []
    for piece in _DATE_PIECES.findall(normalize(text)):
        if piece[0] in "0123456789":
            tokens.extend(piece)  # "1998" -> 1 9 9 8
        else:
            tokens.append(piece)
    return tokens


def tokenize_review(text: str) -> List[List[str]]:
    """Split a review into sentences of tokens; a sentence ends after ``.``, ``!`` or ``?``.

    ``"I love this phone. The box is bad!"`` ->
    ``[['i', 'love', 'this', 'phone', '.'], ['the', 'box', 'is', 'bad', '!']]``.
    Text after the last end is a sentence too; no sentence is empty.
    """
    sentences: List[List[str]] = []
    current: List[str] = []
    for piece in _WORD_PIECES.findall(normalize(text)):
        current.append(piece)
        if piece in SENTENCE_ENDS:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def tokenize_masked(text: str) -> List[str]:
    """Split a sentence into words; ``[MASK]`` (any case) is the one token ``[mask]``.

    ``"On Monday [MASK] gave her dog some bones"`` ->
    ``['on', 'monday', '[mask]', 'gave', 'her', 'dog', 'some', 'bones']``.
    """
    return _MASKED_PIECES.findall(normalize(text))


#: the tokenizers by the name the live views use
TOKENIZERS = {"date": tokenize_date, "review": tokenize_review, "masked": tokenize_masked}
