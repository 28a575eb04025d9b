"""The offline grader: decides each key point from the answer's own words, with no network.

It reads the answer sentence by sentence. A key point is covered when all of its concepts (see
`bank.KeyPoint`) are expressed in one sentence, and partial when half of them are. It gives no
credit for the question's own words, for a negated statement, or for a bare list of terms, and it
reports the bank's misconceptions when a clause states one. The score comes from
`model.compute_score`, the same formula the LLM grader uses.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from interviewer.bank import KeyPoint, Question
from interviewer.grading import text
from interviewer.grading.model import Finding, Grade, PointVerdict, Verdict, compute_score

NAME = "offline"
EVIDENCE_CHARS = 200
# A "bare list of terms": few function words overall and no sentence that explains anything.
LIST_FUNCTION_SHARE = 0.15
EXPLAINING_SENTENCE_WORDS = 6
LIST_CAP = 2.0
ECHO_NEW_WORDS = 3  # fewer content words than this beyond the question's own: an echo
ECHO_CAP = 1.0
NON_ANSWERS = frozenset(
    {"", "idk", "i dont know", "i do not know", "dont know", "no idea", "pass", "skip", "n a", "na", "none", "nothing"}
)


@dataclass(frozen=True)
class _Concept:
    alternatives: tuple[tuple[str, ...], ...]  # stemmed phrases


@dataclass(frozen=True)
class _Match:
    concepts: int  # concepts matched, negated or not
    affirmed: int  # concepts matched without a negation
    sentence: text.Sentence | None

    @property
    def negated(self) -> bool:
        return self.affirmed < self.concepts


def _concepts(terms: list[str], question_words: frozenset[str]) -> tuple[_Concept, ...]:
    """Compile `terms`, dropping alternatives made only of the question's own words."""
    out = []
    for concept in terms:
        alternatives = []
        for alt in concept.split("|"):
            keys = text.phrase_keys(alt)
            if keys and not set(keys) <= question_words:
                alternatives.append(keys)
        out.append(_Concept(tuple(alternatives)))
    return tuple(out)


_Compiled = tuple[frozenset[str], tuple[tuple[_Concept, ...], ...], tuple[tuple[_Concept, ...], ...]]


_compiled: dict[tuple[str, str], _Compiled] = {}


def _compile(question: Question) -> _Compiled:
    """The question's terms as stemmed phrases; computed once per question version."""
    key = (question.id, question.content_hash)
    if key not in _compiled:
        q_words = text.vocabulary(question.prompt)
        points = tuple(_concepts(kp.terms, q_words) for kp in question.key_points)
        wrong = tuple(_concepts(m.terms, q_words) for m in question.misconceptions)
        _compiled[key] = (q_words, points, wrong)
    return _compiled[key]


def _match_in(sentence: text.Sentence, concepts: tuple[_Concept, ...], *, within_clause: bool) -> _Match:
    found = affirmed = 0
    clause = None
    for concept in concepts:
        hits = []
        for alt in concept.alternatives:
            words = text.find_phrase(sentence, alt, within_clause=within_clause)
            if words is not None and (clause is None or not within_clause or words[0].clause == clause):
                hits.append(words)
        if not hits:
            continue
        found += 1
        if within_clause and clause is None:
            clause = hits[0][0].clause
        if any(not text.is_negated(sentence, words) for words in hits):
            affirmed += 1
    return _Match(found, affirmed, sentence)


def _best(sentences: list[text.Sentence], concepts: tuple[_Concept, ...]) -> _Match:
    best = _Match(0, 0, None)
    for sentence in sentences:
        m = _match_in(sentence, concepts, within_clause=False)
        if (m.affirmed, m.concepts) > (best.affirmed, best.concepts):
            best = m
    return best


def _quote(sentence: text.Sentence | None) -> str | None:
    if sentence is None:
        return None
    quote = sentence.text
    return quote if len(quote) <= EVIDENCE_CHARS else quote[: EVIDENCE_CHARS - 1].rstrip() + "…"


def _judge(kp: KeyPoint, concepts: tuple[_Concept, ...], sentences: list[text.Sentence]) -> tuple[PointVerdict, Finding | None]:
    n = len(concepts)
    m = _best(sentences, concepts)
    if m.concepts == n and m.negated:
        why = "the answer states the opposite"
        finding = Finding(text=f"Contradicts: {kp.point}", severity="major", evidence=_quote(m.sentence))
        return PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.missing, evidence=_quote(m.sentence), why=why), finding
    if m.affirmed == n:
        verdict = Verdict.covered
    elif n >= 2 and m.affirmed >= math.ceil(n / 2):
        verdict = Verdict.partial
    else:
        return PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.missing), None
    return PointVerdict(point=kp.point, weight=kp.weight, verdict=verdict, evidence=_quote(m.sentence)), None


def _is_term_list(sentences: list[text.Sentence]) -> bool:
    words = [w for s in sentences for w in s.words]
    if len(words) < 2:
        return False
    function_share = sum(w.plain in text.FUNCTION_WORDS for w in words) / len(words)
    explains = any(
        len(s.words) >= EXPLAINING_SENTENCE_WORDS and sum(w.plain in text.FUNCTION_WORDS for w in s.words) >= 2
        for s in sentences
    )
    return function_share < LIST_FUNCTION_SHARE and not explains


class OfflineGrader:
    """Deterministic, embedded, no network: an estimate of what an interviewer would grade."""

    name = NAME

    def grade(self, question: Question, answer: str) -> Grade:
        started = time.perf_counter()
        grade = self._grade(question, answer)
        grade.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return grade

    def _grade(self, question: Question, answer: str) -> Grade:
        q_words, points, wrong = _compile(question)
        sentences = text.split_sentences(answer)
        plain = " ".join(w.plain for s in sentences for w in s.words)
        if plain in NON_ANSWERS:
            return self._empty(question)

        verdicts: list[PointVerdict] = []
        errors: list[Finding] = []
        for kp, concepts in zip(question.key_points, points, strict=True):
            verdict, finding = _judge(kp, concepts, sentences)
            verdicts.append(verdict)
            if finding:
                errors.append(finding)
        for misconception, concepts in zip(question.misconceptions, wrong, strict=True):
            for sentence in sentences:
                m = _match_in(sentence, concepts, within_clause=True)
                if m.concepts == len(concepts) and not m.negated:
                    errors.append(Finding(text=misconception.point, severity=misconception.severity, evidence=_quote(sentence)))
                    break

        cap = cap_reason = None
        improvements: list[str] = []
        new_words = {w.key for s in sentences for w in s.content} - q_words
        if len(new_words) < ECHO_NEW_WORDS:
            cap, cap_reason = ECHO_CAP, "the answer restates the question without answering it"
        elif _is_term_list(sentences):
            cap, cap_reason = LIST_CAP, "a list of terms without explanation"
            improvements.append(
                "Explain each idea in a full sentence: a list of terms shows recognition, not understanding."
            )
            verdicts = [
                v.model_copy(update={"verdict": Verdict.partial, "why": "named, not explained"})
                if v.verdict is Verdict.covered
                else v
                for v in verdicts
            ]

        improvements += [
            ("State precisely: " if v.verdict is Verdict.partial else "Cover: ") + v.point
            for v in verdicts
            if v.verdict is not Verdict.covered
        ]
        improvements += [f"Correct: {e.text}" for e in errors if not e.text.startswith("Contradicts: ")]
        return Grade(
            grader=NAME,
            score=compute_score(verdicts, errors, cap),
            key_points=verdicts,
            errors=errors,
            strengths=[v.point for v in verdicts if v.verdict is Verdict.covered],
            improvements=improvements,
            cap=cap,
            cap_reason=cap_reason,
        )

    def _empty(self, question: Question) -> Grade:
        verdicts = [PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.missing) for kp in question.key_points]
        return Grade(
            grader=NAME,
            score=0.0,
            key_points=verdicts,
            improvements=["Give an answer: even a partial one can be graded and improved."],
            cap=0.0,
            cap_reason="no answer",
        )
