"""Whether a grading model's quote is evidence for a key point, or only looks like one.

A model can mark every key point "covered" and quote the answer's first letter, or its first and
last words joined by an ellipsis. A quote counts as evidence only when it is a meaningful span of
the answer: whole words of it (case, spacing, quote marks and dashes aside), long enough to state
something, sharing content with the key point it supports, and, where an ellipsis joins fragments,
at most a few fragments close together and in order.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache

from interviewer.grading.text import NOT, RELATIONAL, phrase_keys

MIN_CONTENT_WORDS = 3  # "a subject, a verb, an object": fewer rarely states anything
MIN_ANSWER_WORDS = 2  # a shorter answer ("Adam.") cannot show any key point
MAX_FRAGMENTS = 3
MAX_GAP_WORDS = 12  # words an ellipsis may skip: within a sentence or two, not across the answer
SHOWN_QUOTE_CHARS = 60

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": "'"})
_DASHES = re.compile(r"[-\u2010-\u2015\u2212]")
_ELLIPSIS = re.compile(r"\[?\s*(?:\.\s*\.\s*\.+|\u2026)\s*\]?")
_EDGES = " \"'.,;:!?()[]{}*_"
_WORD = re.compile(r"\w+")


def squash(text: str) -> str:
    """Text as quotes are compared: NFKC, lower case, plain quote marks, dashes and runs of space as one space."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)
    return re.sub(r"\s+", " ", _DASHES.sub(" ", text)).strip()


def content_words(text: str) -> list[str]:
    """The stemmed words of a text that carry meaning (no fillers, no negators)."""
    return [key for key in phrase_keys(text) if key != NOT]


_GENERIC = frozenset(content_words(" ".join(sorted(RELATIONAL))))


@lru_cache(maxsize=1024)
def point_words(points: tuple[tuple[str, tuple[str, ...]], ...], question: str) -> tuple[frozenset[str], ...]:
    """Per key point (statement, terms), the words a quote must share one of to support it.

    A point's words are its statement's and its terms' (a point may have a statement and no
    terms), less generic verbs ("uses", "makes") and, where the point has others, the words of the
    whole question: those of its prompt ("dropout" shows no point of the dropout question) and
    those most of its points share ("gradient" in every point about Adam).
    """
    vocabularies = []
    for statement, terms in points:
        words = set(content_words(statement))
        for concept in terms:
            for alternative in concept.split("|"):
                words.update(content_words(alternative))
        vocabularies.append(frozenset(words - _GENERIC))
    asked = set(content_words(question))
    shared = {
        w for w in set().union(*vocabularies) if 2 * sum(w in v for v in vocabularies) > len(vocabularies)
    }
    topic = asked | (shared if len(vocabularies) > 1 else set())
    return tuple(frozenset(v - topic or v - asked or v) for v in vocabularies)


def fragments(quote: str) -> list[str]:
    """The pieces of a quote between ellipses, trimmed of surrounding punctuation, squashed."""
    pieces = (piece.strip(_EDGES) for piece in _ELLIPSIS.split(squash(quote)))
    return [piece for piece in pieces if piece]


def _occurrences(fragment: str, answer: str) -> list[tuple[int, int]]:
    """Where the fragment stands in the answer as whole words: (start, end) offsets, in order."""
    return [m.span() for m in re.finditer(rf"(?<!\w){re.escape(fragment)}(?!\w)", answer)]


def _chained(parts: list[str], answer: str) -> bool:
    """Whether the fragments occur as whole words, in order, each within MAX_GAP_WORDS of the last.

    Linear in the answer's length, whatever the fragments: for each fragment, only the occurrences
    that the previous fragments can reach are kept, and the nearest reachable one before an
    occurrence is the one that leaves the smallest gap.
    """
    word_starts = [m.start() for m in _WORD.finditer(answer)]
    reachable = _occurrences(parts[0], answer)
    for part in parts[1:]:
        ends = [end for _, end in reachable]
        following = []
        for start, end in _occurrences(part, answer):
            before = bisect.bisect_right(ends, start)
            if not before:
                continue
            skipped = bisect.bisect_left(word_starts, start) - bisect.bisect_left(
                word_starts, ends[before - 1]
            )
            if skipped <= MAX_GAP_WORDS:
                following.append((start, end))
        reachable = following
    return bool(reachable)


def _not_located(parts: list[str], answer: str) -> str:
    """Why fragments that do not chain fail: not there, cut words, or too far apart."""
    for part in parts:
        if part not in answer:
            return "does not occur in the answer"
        if not _occurrences(part, answer):
            return "cuts words of the answer in two"
    return "joins passages of the answer that are not close together, or not in order"


@lru_cache(maxsize=256)
def _meaningful_words(answer: str) -> int:
    return len(content_words(answer))


def answer_too_short(answer: str) -> bool:
    """Whether the answer has too few words to show any key point."""
    return _meaningful_words(answer) < MIN_ANSWER_WORDS


def problem(quote: str, answer: str, supports: frozenset[str]) -> str | None:
    """What is wrong with the quote as evidence for a key point with words `supports`; None if nothing.

    The reason completes a sentence such as "the grader's quote ... <reason>".
    """
    parts = fragments(quote)
    if not parts:
        return "is empty"
    if len(parts) > MAX_FRAGMENTS:
        return f"joins {len(parts)} fragments with '…' (at most {MAX_FRAGMENTS})"
    haystack = squash(answer)
    if not _chained(parts, haystack):
        return _not_located(parts, haystack)
    said = content_words(" ".join(parts))
    need = min(MIN_CONTENT_WORDS, max(MIN_ANSWER_WORDS, _meaningful_words(answer)))
    if len(said) < need:
        return f"is too short to state anything ({len(said)} of at least {need} meaningful words)"
    if supports and not supports.intersection(said):
        return "shares no words with the key point"
    return None


def shown(quote: str) -> str:
    """A quote shortened for a reason the candidate reads."""
    quote = " ".join(quote.split())
    return quote if len(quote) <= SHOWN_QUOTE_CHARS else quote[: SHOWN_QUOTE_CHARS - 1] + "…"
