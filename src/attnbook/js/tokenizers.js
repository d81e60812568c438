// The JavaScript twin of attnbook/data/tokenize.py: the live views split what
// the reader types exactly as Python does. tests/test_tokenizers_js.py runs
// both on every test input (Node here) and requires the same tokens.
// Rules shared with Python: ASCII-only lower-casing, an explicit list of
// spaces, code points (the `u` flag), every other character a token of its own.

const SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" +
  "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";
const SPACE_RUN = new RegExp("[" + SPACES.replace(/[\\\]^-]/g, "\\$&") + "]+", "gu");
const SENTENCE_ENDS = [".", "!", "?"];

function normalizeText(text) {
  if (typeof text !== "string") throw new TypeError("text must be a string");
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(SPACE_RUN, " ").replace(/^ +| +$/g, "");
}

function tokenizeDate(text) {
  const tokens = [];
  for (const piece of normalizeText(text).match(/[0-9]+|[a-z]+|[^ 0-9a-z]/gu) || []) {
    if (/^[0-9]/.test(piece)) tokens.push(...piece.split(""));
    else tokens.push(piece);
  }
  return tokens;
}

function tokenizeReview(text) {
  const sentences = [];
  let current = [];
  for (const piece of normalizeText(text).match(/[a-z]+|[0-9]+|[^ 0-9a-z]/gu) || []) {
    current.push(piece);
    if (SENTENCE_ENDS.includes(piece)) {
      sentences.push(current);
      current = [];
    }
  }
  if (current.length) sentences.push(current);
  return sentences;
}

function tokenizeMasked(text) {
  return normalizeText(text).match(/\[mask\]|[a-z]+|[0-9]+|[^ 0-9a-z]/gu) || [];
}

const TOKENIZERS = { date: tokenizeDate, review: tokenizeReview, masked: tokenizeMasked };
