"""The SemEval-2013 Task 7 organisers' lexical-overlap baseline, re-implemented to be re-run here.

Their code (Dzikovska et al.; kept in the public repository ashudeep/Student-Response-Analysis,
`semevalFormatProcessing-*/`) has two steps, followed here one for one:

1. `extractBaselineFeatures.pl` gives every student answer 8 numbers from Text::Similarity::Overlaps
   (Perl, v0.09/0.10, options normalize and stem): its raw overlap, F, lesk and cosine scores with
   each reference answer (the maximum of each over the references) and the same four with the
   question. `sanitize`, `_overlaps` and `similarity` below port that module's `sanitizeString`,
   `Text::OverlapFinder::getOverlaps` and `getSimilarityStrings` line for line. Its `stem` option is
   stored but never used by the module (stemming is switched off inside `getOverlaps`), so nothing
   is stemmed here either; no stop list was given. Numbers are rounded to 15 significant digits,
   as Perl prints them into the ARFF file Weka reads.
2. `BaselineClassifier.java` trains Weka's J48 (C4.5 release 8) with its default options on the
   training answers of one corpus, and `ModelTester.java` labels the test answers with it. `J48`
   below is a port of what those defaults run for numeric attributes only (no missing values): gain
   ratio among splits of at least average gain, the MDL correction of a numeric split's gain, at
   least 2 answers a leaf, split points moved to a value seen in training, the tree collapsed, then
   pessimistic pruning at confidence 0.25 with subtree raising.

How faithful: the features equal, to the last digit, those the Perl script wrote for all 5,199
Beetle answers (the ARFF files that repository keeps), and the trees equal Weka 3.6.14's (349 and
185 leaves), which labels each of the 7,093 test answers the same: semeval_weka_check.py re-checks
both. One choice is ours: the 3-way copy of BaselineClassifier.java in that repository had been
switched to a k-nearest-neighbour classifier by its later owner (its 5-way folder holds further
trials); its 2-way copy keeps J48 with default options, the organisers' baseline, followed here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

# --- Text::Similarity::Overlaps -----------------------------------------------------------------

_PUNCTUATION = str.maketrans({c: " " for c in '.;:,?!(){}"`$%@<>'})
# Perl's tr/A-Z_/a-z /: ASCII capitals only are lowered, and '_' becomes a space.
_ASCII_LOWER = str.maketrans({**{chr(c): chr(c + 32) for c in range(65, 91)}, "_": " "})
_MARKER = "###"  # what Text::OverlapFinder writes over words already matched


def sanitize(text: str) -> str:
    """Text::Similarity::sanitizeString."""
    text = text.translate(_PUNCTUATION).translate(_ASCII_LOWER)
    text = re.sub(r"(?<!\w)'", " ", text)
    text = re.sub(r"'(?!\w)", " ", text)
    text = text.replace("--", " ")
    return re.sub(r"\s+", " ", text)


def _words(text: str) -> list[str]:
    text = re.sub(r"^\s+|\s+$", "", text)
    return re.split(r"\s+", text) if text else []


def _find(haystack: list[str], needle: Sequence[str]) -> int:
    """Where `needle` starts in `haystack`, skipping words already matched; -1 if nowhere."""
    n = len(needle)
    for j in range(len(haystack) - n + 1):
        if haystack[j] == _MARKER or needle[0] != haystack[j]:
            continue
        if all(haystack[j + i] != _MARKER and needle[i] == haystack[j + i] for i in range(1, n)):
            return j
    return -1


def _overlaps(words0: list[str], words1: list[str]) -> dict[str, int]:
    """Text::OverlapFinder::getOverlaps: the phrases the two share, longest first, each word once."""
    words1 = list(words1)
    found: dict[str, int] = {}
    # How long an overlap can start from each word of words0 (the module's own bookkeeping, kept).
    lengths = [0] * len(words0)
    start, current = 0, -1
    while current < len(words0) - 1:
        current += 1
        if _find(words1, words0[start : current + 1]) >= 0:
            continue
        lengths[start] = current - start
        if lengths[start] > 0:
            current -= 1
        start += 1
    for i in range(start, current + 1):
        lengths[i] = current - i + 1

    longest = max(lengths, default=0)
    while longest > 0:
        for i in range(len(lengths)):
            if lengths[i] < longest:
                continue
            phrase = words0[i : i + longest]
            at = _find(words1, phrase)
            if at >= 0:
                words1[at : at + longest] = [_MARKER] * longest
                key = " ".join(phrase)
                found[key] = found.get(key, 0) + 1
                for j in range(i, i + longest):
                    lengths[j] = 0
                for j in range(i - 1, -1, -1):
                    if lengths[j] <= i - j:
                        break
                    lengths[j] = i - j
            else:
                k = longest - 1
                while k > 0 and _find(words1, words0[i : i + k]) < 0:
                    k -= 1
                lengths[i] = k
        longest = max(lengths, default=0)
    return found


@dataclass(frozen=True)
class Scores:
    raw: float
    f: float
    lesk: float
    cosine: float


def similarity(first: str, second: str) -> Scores:
    """Text::Similarity::Overlaps::getSimilarityStrings, the four scores the baseline reads."""
    words0, words1 = _words(sanitize(first)), _words(sanitize(second))
    score = raw_lesk = 0
    for key, count in _overlaps(words0, words1).items():
        length = len(key.split(" "))
        score += length * count
        raw_lesk += length * length * count
    if score == 0:
        return Scores(0, 0.0, 0.0, 0.0)
    wc1, wc2 = len(words0), len(words1)
    precision, recall = score / wc2, score / wc1
    return Scores(
        raw=score,
        f=2 * precision * recall / (precision + recall),
        lesk=raw_lesk / (wc1 * wc2),
        cosine=score / math.sqrt(wc1 * wc2),
    )


def _as_perl_prints(x: float) -> float:
    return float(f"{x:.15g}")


def features(answer: str, references: Sequence[str], question: str) -> tuple[float, ...]:
    """The 8 numbers extractBaselineFeatures.pl writes for an answer, in its order: overlap, F, lesk,
    cosine (each the maximum over the reference answers), then the same with the question."""
    best = [0.0, 0.0, 0.0, 0.0]
    for reference in references:
        s = similarity(answer, reference)
        best = [max(b, v) for b, v in zip(best, (s.raw, s.f, s.lesk, s.cosine), strict=True)]
    q = similarity(answer, question)
    return tuple(_as_perl_prints(v) for v in (*best, q.raw, q.f, q.lesk, q.cosine))


# --- Weka's J48 (C4.5 release 8), default options ---------------------------------------------

_SMALL = 1e-6  # weka.core.Utils.SMALL: its comparisons below all allow this much
_CONFIDENCE = 0.25  # -C 0.25
_MIN_LEAF = 2  # -M 2
_Z = NormalDist().inv_cdf(1 - _CONFIDENCE)


def _eq(a: float, b: float) -> bool:
    return a - b < _SMALL and b - a < _SMALL


def _gr(a: float, b: float) -> bool:
    return a - b > _SMALL


def _sm(a: float, b: float) -> bool:
    return b - a > _SMALL


def _log_func(n: float) -> float:
    return 0.0 if n < 1e-6 else n * math.log(n) / math.log(2)


def _entropy_before(bags: list[list[float]]) -> float:
    per_class = [sum(column) for column in zip(*bags, strict=True)]
    return _log_func(sum(per_class)) - sum(_log_func(c) for c in per_class)


def _entropy_after(bags: list[list[float]]) -> float:
    return -sum(sum(_log_func(c) for c in bag) - _log_func(sum(bag)) for bag in bags)


def _add_errors(n: float, e: float) -> float:
    """weka.classifiers.trees.j48.Stats.addErrs: the pessimistic extra errors of a leaf."""
    if e < 1:
        base = n * (1 - math.pow(_CONFIDENCE, 1 / n))
        return base if e == 0 else base + e * (_add_errors(n, 1) - base)
    if e + 0.5 >= n:
        return max(n - e, 0.0)
    f = (e + 0.5) / n
    r = (f + _Z * _Z / (2 * n) + _Z * math.sqrt(f / n - f * f / n + _Z * _Z / (4 * n * n))) / (
        1 + _Z * _Z / n
    )
    return r * n - e


def _estimated_errors(per_class: list[float]) -> float:
    total = sum(per_class)
    if _eq(total, 0):
        return 0.0
    wrong = total - per_class[_max_class(per_class)]
    return wrong + _add_errors(total, wrong)


def _max_class(per_class: Sequence[float]) -> int:
    best, at = 0.0, 0
    for i, c in enumerate(per_class):
        if _gr(c, best):
            best, at = c, i
    return at


@dataclass
class _Split:
    attribute: int
    point: float
    info_gain: float
    gain_ratio: float


@dataclass
class _Node:
    rows: list[int]  # the training answers that reach it (kept for subtree raising)
    split: _Split | None = None
    sons: list[_Node] = field(default_factory=list)
    bags: list[list[float]] = field(default_factory=list)  # class counts per branch (one if a leaf)

    def per_class(self) -> list[float]:
        return [sum(column) for column in zip(*self.bags, strict=True)]


class J48:
    """A C4.5 tree as Weka's J48 grows and prunes it by default, for numeric features."""

    def __init__(self, x: Sequence[Sequence[float]], y: Sequence[int], classes: int) -> None:
        self.x, self.y, self.classes = x, y, classes
        self.root = self._grow(list(range(len(y))))
        self._collapse(self.root)
        self._prune(self.root)

    def predict(self, row: Sequence[float]) -> int:
        node = self.root
        while node.split is not None:
            node = node.sons[self._branch(node.split, row)]
        return _max_class(node.per_class())

    def leaves(self) -> int:
        def count(node: _Node) -> int:
            return 1 if node.split is None else sum(count(s) for s in node.sons)

        return count(self.root)

    # growing: C45ModelSelection.selectModel and C45Split.handleNumericAttribute

    def _counts(self, rows: Sequence[int]) -> list[float]:
        counts = [0.0] * self.classes
        for r in rows:
            counts[self.y[r]] += 1
        return counts

    @staticmethod
    def _branch(split: _Split, row: Sequence[float]) -> int:
        return 0 if row[split.attribute] - split.point < _SMALL else 1

    def _bags(self, split: _Split | None, rows: Sequence[int]) -> list[list[float]]:
        if split is None:
            return [self._counts(rows)]
        sides: list[list[int]] = [[], []]
        for r in rows:
            sides[self._branch(split, self.x[r])].append(r)
        return [self._counts(side) for side in sides]

    def _grow(self, rows: list[int]) -> _Node:
        node = _Node(rows, split=self._select(rows))
        node.bags = self._bags(node.split, rows)
        if node.split is None:
            return node
        sides: list[list[int]] = [[], []]
        for r in rows:
            sides[self._branch(node.split, self.x[r])].append(r)
        node.sons = [self._grow(side) for side in sides]
        return node

    def _select(self, rows: list[int]) -> _Split | None:
        counts = self._counts(rows)
        total = float(len(rows))
        if _sm(total, 2 * _MIN_LEAF) or _eq(total, counts[_max_class(counts)]):
            return None
        candidates = [s for a in range(len(self.x[0])) if (s := self._numeric_split(rows, a, total))]
        if not candidates:
            return None
        average = sum(s.info_gain for s in candidates) / len(candidates)
        best, best_ratio = None, 0.0
        for s in candidates:
            if s.info_gain >= average - 1e-3 and _gr(s.gain_ratio, best_ratio):
                best, best_ratio = s, s.gain_ratio
        if best is None or _eq(best_ratio, 0):
            return None
        # C4.5 moves the split point down to the largest value seen in all the training data.
        point = -math.inf
        for r in range(len(self.y)):
            v = self.x[r][best.attribute]
            if _gr(v, point) and v - best.point < _SMALL:
                point = v
        best.point = point
        return best

    def _numeric_split(self, rows: list[int], attribute: int, total: float) -> _Split | None:
        ordered = sorted(rows, key=lambda r: self.x[r][attribute])
        values = [self.x[r][attribute] for r in ordered]
        left, right = [0.0] * self.classes, self._counts(ordered)
        min_split = 0.1 * len(ordered) / self.classes
        if min_split - _MIN_LEAF < _SMALL:
            min_split = _MIN_LEAF
        elif _gr(min_split, 25):
            min_split = 25
        if _sm(len(ordered), 2 * min_split):
            return None
        before = _entropy_before([left, right])
        gain, at, tried, last = 0.0, -1, 0, 0
        for nxt in range(1, len(ordered)):
            if values[nxt - 1] + 1e-5 < values[nxt]:
                for r in ordered[last:nxt]:
                    left[self.y[r]] += 1
                    right[self.y[r]] -= 1
                if min_split - sum(left) < _SMALL and min_split - sum(right) < _SMALL:
                    numerator = before - _entropy_after([left, right])
                    candidate = 0.0 if _eq(numerator, 0) else numerator / total
                    if _gr(candidate, gain):
                        gain, at = candidate, nxt - 1
                    tried += 1
                last = nxt
        if tried == 0:
            return None
        gain -= math.log2(tried) / total
        if gain - 0 < _SMALL:
            return None
        point = (values[at + 1] + values[at]) / 2
        if point == values[at + 1]:
            point = values[at]
        bags = [self._counts(ordered[: at + 1]), self._counts(ordered[at + 1 :])]
        split_info = _log_func(total) - sum(_log_func(sum(b)) for b in bags)
        ratio = 0.0 if _eq(split_info, 0) else gain / (split_info / total)
        return _Split(attribute, point, gain, ratio)

    # C45PruneableClassifierTree: collapse, then prune with subtree raising

    def _training_errors(self, node: _Node) -> float:
        if node.split is None:
            counts = node.per_class()
            return sum(counts) - counts[_max_class(counts)]
        return sum(self._training_errors(s) for s in node.sons)

    def _collapse(self, node: _Node) -> None:
        if node.split is None:
            return
        counts = node.per_class()
        if self._training_errors(node) >= sum(counts) - counts[_max_class(counts)] - 1e-3:
            node.split, node.sons, node.bags = None, [], [counts]
            return
        for son in node.sons:
            self._collapse(son)

    def _tree_errors(self, node: _Node) -> float:
        if node.split is None:
            return _estimated_errors(node.per_class())
        return sum(self._tree_errors(s) for s in node.sons)

    def _branch_errors(self, node: _Node, rows: list[int]) -> float:
        if node.split is None:
            return _estimated_errors(self._counts(rows))
        sides: list[list[int]] = [[], []]
        for r in rows:
            sides[self._branch(node.split, self.x[r])].append(r)
        return sum(self._branch_errors(s, side) for s, side in zip(node.sons, sides, strict=True))

    def _redistribute(self, node: _Node, rows: list[int]) -> None:
        node.rows, node.bags = rows, self._bags(node.split, rows)
        if node.split is None:
            return
        sides: list[list[int]] = [[], []]
        for r in rows:
            sides[self._branch(node.split, self.x[r])].append(r)
        for son, side in zip(node.sons, sides, strict=True):
            self._redistribute(son, side)

    def _prune(self, node: _Node) -> None:
        if node.split is None:
            return
        for son in node.sons:
            self._prune(son)
        per_bag = [sum(b) for b in node.bags]
        largest = max(i for i, n in enumerate(per_bag) if n - max(per_bag) > -_SMALL)
        errors_largest = self._branch_errors(node.sons[largest], node.rows)
        errors_leaf = _estimated_errors(node.per_class())
        errors_tree = self._tree_errors(node)
        if errors_leaf - (errors_tree + 0.1) < _SMALL and errors_leaf - (errors_largest + 0.1) < _SMALL:
            node.split, node.sons, node.bags = None, [], [node.per_class()]
            return
        if errors_largest - (errors_tree + 0.1) < _SMALL:
            raised = node.sons[largest]
            node.split, node.sons = raised.split, raised.sons
            self._redistribute(node, node.rows)
            self._prune(node)
