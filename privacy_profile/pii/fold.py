"""Evasive forms folded to plain ones before matching, with a map back to the original.

People hide contact data from filters: zero-width characters inside a number, odd
separators (``139.1234.5678``, ``139—1234—5678``, ``139_1234_5678``), digit-by-digit spacing,
Chinese numerals (一三九...), full-width letters, "zhang at qq dot com", a spaced name
(王 小 明). :func:`fold` rewrites these into the forms the recognizers know and returns, for
every character of the folded text, the index of the original character it came from, so
findings are reported (and replaced) in the ORIGINAL text. Folding is conservative: it only
touches runs that look like hidden identifiers (three or more digit groups with one kind of
separator, seven or more spaced digits, five or more Chinese numerals in a row).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FOLD_CANDIDATE", "Folded", "fold", "fold_candidates", "map_span"]

Folded = tuple[str, list[int] | None]
"""(folded text, original index of each folded character; None when nothing changed)."""

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_ZW = re.compile(f"[{_ZERO_WIDTH}]")
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2500\u2501"
_CN_DIGITS = {
    **dict.fromkeys("〇零○Ｏ", "0"),
    **dict.fromkeys("一壹幺", "1"),
    **dict.fromkeys("二贰两", "2"),
    **dict.fromkeys("三叁", "3"),
    **dict.fromkeys("四肆", "4"),
    **dict.fromkeys("五伍", "5"),
    **dict.fromkeys("六陆", "6"),
    **dict.fromkeys("七柒", "7"),
    **dict.fromkeys("八捌", "8"),
    **dict.fromkeys("九玖", "9"),
}
_CN_CLASS = "".join(_CN_DIGITS)
# Five or more numerals (Chinese or ASCII, at least four Chinese) in a row, spaces allowed.
_CN_RUN = re.compile(rf"[{_CN_CLASS}0-9](?:[ ]?[{_CN_CLASS}0-9]){{4,}}")
# Three or more digit groups joined by one kind of separator the recognizers do not know:
# 139.1234.5678, 139_1234_5678, 139/1234/5678 (spaces and dashes they know: left alone).
_GROUPS = re.compile(r"(?<![0-9.])[0-9]{2,6}(?P<sep>[._/])[0-9]{2,6}(?:(?P=sep)[0-9]{1,6})+")
# Digit-by-digit spacing: 1 3 8 1 2 3 4 5 6 7 8.
_SPACED = re.compile(r"(?<![0-9])[0-9](?:[ ._\-/][0-9](?![0-9])){6,}")
# "zhang at qq dot com", "zhang(at)qq(dot)com", "zhang艾特qq点com".
_AT = re.compile(
    r"(?i)(?<=[a-z0-9])(?:\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+|\s*艾特\s*|\s*圈a\s*)(?=[a-z0-9])"
)
_DOT = re.compile(
    r"(?i)(?<=[a-z0-9])(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\s*点\s*)"
    r"(?=(?:com|net|org|cn|edu|gov|hk|tw|io)\b)"
)
# A spaced name: 2-4 single Han characters separated by single spaces.
_SPACED_HAN = re.compile(
    r"(?<![ \u3000])[\u4e00-\u9fff](?:[ \u3000][\u4e00-\u9fff]){1,3}"
    r"(?=[ \u3000]?[^\u4e00-\u9fff \u3000]|[ \u3000][\u4e00-\u9fff]{2}|[ \u3000]?$)"
)
#: Compatibility forms folded by NFKC: full-width digits, letters and ``@ . + - _``, circled
#: and parenthesized digits, mathematical alphanumerics.
_COMPAT = re.compile(
    "[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff20\uff0e\uff0b\uff3f"
    "\u2460-\u249b\u24b6-\u24e9\U0001d400-\U0001d7ff]"
)
_CHARS = re.compile(rf"[{_ZERO_WIDTH}{_DASHES}\u00a0\u3000]|{_COMPAT.pattern}")
#: A cheap test for "something may need folding" (most texts: nothing, one regex search).
_NEEDS = tuple(
    re.compile(p)
    for p in (
        rf"[{_ZERO_WIDTH}{_DASHES}\u00a0\u3000]",
        _COMPAT.pattern,
        rf"[{_CN_CLASS}](?:[ ]?[{_CN_CLASS}0-9]){{4}}",
        r"[0-9][._/][0-9]",
        r"[0-9][ ._\-/][0-9][ ._\-/][0-9]",
        r"[aA][tT]\b(?<=\b..)|\([aA][tT]\)|\[[aA][tT]\]|艾特|点com",
        r"[ \u3000](?<=[\u4e00-\u9fff][ \u3000])[\u4e00-\u9fff]",  # scan for the space
    )
)  # separate searches: one alternation of them all is ~10x slower in ``re``


#: One RE2-compatible pattern (no look-arounds) that every text matched by one of ``_NEEDS``
#: also matches (a superset: the look-behinds dropped), for testing a batch in Arrow: a text
#: it does not match comes out of :func:`fold` unchanged.
FOLD_CANDIDATE = "|".join(
    (
        rf"[{_ZERO_WIDTH}{_DASHES}\u00a0\u3000]",
        _COMPAT.pattern,
        rf"[{_CN_CLASS}](?:[ ]?[{_CN_CLASS}0-9]){{4}}",
        r"[0-9][._/][0-9]",
        r"[0-9][ ._\-/][0-9][ ._\-/][0-9]",
        r"[aA][tT]|艾特|点com",
        r"[\u4e00-\u9fff][ \u3000][\u4e00-\u9fff]",
    )
)
_FOLD_CANDIDATE_RE2 = re.sub(
    r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), FOLD_CANDIDATE
)  # RE2 has no \uXXXX escape: the characters themselves
_BATCH_TEST_MIN = 64  # below this, one Arrow call costs more than the searches it saves


def fold_candidates(texts: list[str]) -> list[bool]:
    """Which ``texts`` :func:`fold` may change (False: certainly unchanged), tested in one
    Arrow (RE2) pass over the batch; all True for small batches."""
    if len(texts) < _BATCH_TEST_MIN:
        return [True] * len(texts)
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(texts, type=pa.large_string())
    hit = pc.match_substring_regex(arr, pattern=_FOLD_CANDIDATE_RE2)
    return [bool(h) for h in hit.to_pylist()]


class _Builder:
    """A text being rewritten piece by piece, keeping each character's original index."""

    def __init__(self, text: str, index: list[int]) -> None:
        self.text = text
        self.index = index

    def sub(self, rx: re.Pattern[str], repl: str | None, fn: object = None) -> None:
        """Replace each match of ``rx`` by ``repl`` (or ``fn(match)``), mapping the new
        characters to the original index of the match's first character."""
        out: list[str] = []
        idx: list[int] = []
        pos = 0
        changed = False
        for m in rx.finditer(self.text):
            new = repl if repl is not None else fn(m)  # type: ignore[operator]
            if new == m.group():
                continue
            changed = True
            s, e = m.span()
            out.append(self.text[pos:s])
            idx.extend(self.index[pos:s])
            out.append(new)
            idx.extend(_spread(self.index[s:e], len(new), m.group(), new))
            pos = e
        if changed:
            out.append(self.text[pos:])
            idx.extend(self.index[pos:])
            self.text = "".join(out)
            self.index = idx


def _spread(orig: list[int], n: int, old: str, new: str) -> list[int]:
    """Original indexes for the ``n`` characters replacing ``old``: characters kept in order
    map to themselves, inserted ones to the nearest kept one before them."""
    if len(new) == len(old):
        return list(orig)
    keep = [k for k, c in enumerate(old) if not c.isspace() and c not in "._-/"]
    if len(keep) == len(new):
        return [orig[k] for k in keep]
    out: list[int] = []
    j = 0
    for ch in new:
        k = old.find(ch, j)
        if k >= 0 and (ch.isalnum() or ch in "@.-"):
            out.append(orig[k])
            j = k + 1
        else:
            out.append(orig[min(j, len(orig) - 1)])
    return out


def _nfkc(text: str) -> tuple[str, list[int]]:
    if not _CHARS.search(text):
        return text, list(range(len(text)))
    chars: list[str] = []
    idx: list[int] = []
    for i, c in enumerate(text):
        if c in _ZERO_WIDTH:
            continue
        if c in _DASHES:
            n = "-"
        elif c == "\u00a0" or c == "\u3000":
            n = " "
        elif _COMPAT.match(c):
            n = unicodedata.normalize("NFKC", c)
        else:
            n = c  # Chinese punctuation and everything else stay (the models know them)
        chars.append(n)
        idx.extend([i] * len(n))
    return "".join(chars), idx


def _groups(m: re.Match[str]) -> str:
    value = m.group()
    parts = value.split(m.group("sep"))
    digits = sum(len(p) for p in parts)
    if len(parts) == 4 and all(len(p) <= 3 for p in parts):
        return value  # an IPv4 address
    if digits < 7:
        return value
    return "-".join(parts)


def _cn_run(m: re.Match[str]) -> str:
    value = m.group()
    if sum(c in _CN_DIGITS for c in value) < 4:
        return value
    return "".join(_CN_DIGITS.get(c, c) for c in value if c != " ")


def fold(text: str) -> Folded:
    """The folded text and its map to ``text`` (None when nothing was folded)."""
    if not any(rx.search(text) for rx in _NEEDS):
        return text, None
    base, index = _nfkc(text)
    b = _Builder(base, index)
    b.sub(_CN_RUN, None, _cn_run)
    b.sub(_SPACED, None, lambda m: re.sub(r"[^0-9]", "", m.group()))
    b.sub(_GROUPS, None, _groups)
    b.sub(_AT, "@")
    b.sub(_DOT, ".")
    b.sub(_SPACED_HAN, None, lambda m: re.sub(r"[ \u3000]", "", m.group()))
    if b.text == text:
        return text, None
    return b.text, b.index


def map_span(index: list[int], start: int, end: int) -> tuple[int, int]:
    """A span of the folded text as a span of the original text."""
    return index[start], index[end - 1] + 1
