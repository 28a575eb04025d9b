"""The offline grader: decides each key point from the answer's own words, with no network.

It reads the answer sentence by sentence. A key point is covered when all of its concepts (see
`bank.KeyPoint`) are expressed in one sentence, and partial when half of them are. It gives no
credit for the question's own words, for a negated statement, or for a bare list of terms, and it
reports the bank's misconceptions when a clause states one. The score comes from
`model.compute_score`, the same formula the LLM grader uses.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from interviewer.bank import KeyPoint, Question
from interviewer.grading import text
from interviewer.grading.model import Finding, Grade, PointVerdict, Verdict, compute_score

NAME = "offline"
EVIDENCE_CHARS = 200
# A "bare list of terms": less than this share of the words explain anything (text.explained_share).
LIST_EXPLAINED_SHARE = 0.15
LIST_CAP = 2.0
ECHO_NEW_WORDS = 3  # fewer content words than this beyond the question's own: an echo
ECHO_CAP = 1.0
HYPOTHETICAL = frozenset({"if", "unless", "suppose", "imagine", "assuming"})
NON_ANSWERS = frozenset(
    {
        "",
        "idk",
        "i dont know",
        "i do not know",
        "dont know",
        "no idea",
        "pass",
        "skip",
        "n a",
        "na",
        "none",
        "nothing",
    }
)


Phrase = tuple[str, ...]  # stemmed words
Concept = tuple[Phrase, ...]  # alternative phrasings
NONE, NEGATED, AFFIRMED = 0, 1, 2  # how a concept occurs in a clause


@dataclass(frozen=True)
class _Point:
    concepts: tuple[Concept, ...]
    about: int | None  # index into _Compiled.entities


@dataclass(frozen=True)
class _Compiled:
    question_words: frozenset[str]
    entities: tuple[Concept, ...]  # the distinct `about`s of the question's key points
    points: tuple[_Point, ...]
    misconceptions: tuple[tuple[Concept, ...], ...]


@dataclass(frozen=True)
class _Match:
    concepts: int  # concepts found, negated or not
    affirmed: int  # concepts found without a negation
    sentence: text.Sentence | None

    @property
    def negated(self) -> bool:
        return self.affirmed < self.concepts


_NO_MATCH = _Match(0, 0, None)


def _concept(alternatives: str, question_words: frozenset[str] | None = None) -> Concept:
    """Compile `a | b | c`; with `question_words`, drop alternatives made only of the question's words."""
    out = []
    for alt in alternatives.split("|"):
        keys = text.phrase_keys(alt)
        if keys and (question_words is None or not set(keys) <= question_words):
            out.append(keys)
    return tuple(out)


# Compiled questions, shared by the grading threads: entries are immutable, and the lock makes each
# question version compile once.
_cache: dict[tuple[str, str], _Compiled] = {}
_cache_lock = threading.Lock()


def _compile(question: Question) -> _Compiled:
    """The question's terms as stemmed phrases; computed once per question version."""
    key = (question.id, question.content_hash)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _compiled(question)
        return _cache[key]


def _compiled(question: Question) -> _Compiled:
    q_words = text.vocabulary(question.prompt)
    abouts = list(dict.fromkeys(kp.about for kp in question.key_points if kp.about))
    return _Compiled(
        question_words=q_words,
        entities=tuple(_concept(a) for a in abouts),
        points=tuple(
            _Point(
                tuple(_concept(t, q_words) for t in kp.terms),
                abouts.index(kp.about) if kp.about else None,
            )
            for kp in question.key_points
        ),
        misconceptions=tuple(tuple(_concept(t) for t in m.terms) for m in question.misconceptions),
    )


def _first_word(clause: tuple[text.Word, ...], concept: Concept) -> int | None:
    """Where in its sentence the concept is first named within this clause."""
    found = [words[0].index for alt in concept if (words := text.find_phrase(clause, alt))]
    return min(found) if found else None


class _Reading:
    """An answer's sentences, with what each clause says of each concept, computed once per concept."""

    def __init__(self, answer: str, compiled: _Compiled):
        self.sentences = text.split_sentences(answer)
        self._states: dict[Concept, list[list[int]]] = {}
        # Which entities each clause names, and the entities named before it that "it" and "this"
        # refer to: within a sentence the last one named, into the next sentence the sentence's
        # subject, its first-named entity ("Fine-tuning starts from pretrained weights. It then ...").
        self.named: list[list[frozenset[int]]] = []
        self.carried: list[list[frozenset[int]]] = []
        last: frozenset[int] = frozenset()
        for s_index, sentence in enumerate(self.sentences):
            named_here, carried_here = [], []
            subject: tuple[int, int] | None = None  # (word index, entity)
            for c_index, clause in enumerate(sentence.clauses):
                named = frozenset(
                    e for e, entity in enumerate(compiled.entities) if self.state(entity)[s_index][c_index]
                )
                named_here.append(named)
                carried_here.append(last)
                last = named or last
                for e in named:
                    at = _first_word(clause, compiled.entities[e])
                    if at is not None and (subject is None or at < subject[0]):
                        subject = (at, e)
            if subject is not None:
                last = frozenset({subject[1]})
            self.named.append(named_here)
            self.carried.append(carried_here)

    def state(self, concept: Concept) -> list[list[int]]:
        """Per sentence, per clause: whether the concept is absent, negated or affirmed there."""
        if concept not in self._states:
            table = []
            for sentence in self.sentences:
                row = []
                for clause in sentence.clauses:
                    best = NONE
                    for alt in concept:
                        words = text.find_phrase(clause, alt)
                        if words is not None:
                            best = max(best, NEGATED if text.is_negated(sentence, words) else AFFIRMED)
                            if best == AFFIRMED:
                                break
                    row.append(best)
                table.append(row)
            self._states[concept] = table
        return self._states[concept]

    def best(self, point: _Point) -> _Match:
        """The clause span that says most of the point: whole sentences, or where an `about` binds."""
        states = [self.state(c) for c in point.concepts]
        best = _NO_MATCH
        for s_index, sentence in enumerate(self.sentences):
            n = len(sentence.clauses)
            for lo, hi in self._spans(point, s_index, n):
                found = affirmed = 0
                for table in states:
                    level = max(table[s_index][lo:hi])
                    found += level != NONE
                    affirmed += level == AFFIRMED
                if (affirmed, found) > (best.affirmed, best.concepts):
                    best = _Match(found, affirmed, sentence)
        return best

    def _spans(self, point: _Point, s_index: int, n: int):
        if point.about is None:
            yield 0, n
            return
        named = self.named[s_index]
        for lo in range(n):
            # Said of this point's subject: named in the span, or carried from before it.
            said_of = point.about in named[lo] or (
                not named[lo] and self.carried[s_index][lo] == {point.about}
            )
            for hi in range(lo + 1, n + 1):
                clause = named[hi - 1]
                if clause and point.about not in clause:
                    break  # another subject starts here
                said_of = said_of or point.about in clause
                if said_of:
                    yield lo, hi

    def misconception(self, concepts: tuple[Concept, ...]) -> text.Sentence | None:
        """The first sentence with a clause that states all the concepts, with no negation in it.

        Stricter than for key points: a correct answer often names a misconception to deny it
        ("it is not the case that L2 makes weights exactly zero").
        """
        states = [self.state(c) for c in concepts]
        for s_index, sentence in enumerate(self.sentences):
            if sentence.words[0].plain in HYPOTHETICAL:
                continue  # "If you tuned on the test set, you'd overfit it" claims nothing wrong
            for c_index, clause in enumerate(sentence.clauses):
                if not all(table[s_index][c_index] == AFFIRMED for table in states):
                    continue
                matches = [m for c in concepts for alt in c if (m := text.find_phrase(clause, alt))]
                if not text.clause_negated(sentence, matches):
                    return sentence
        return None


def _quote(sentence: text.Sentence | None) -> str | None:
    if sentence is None:
        return None
    quote = sentence.text
    return quote if len(quote) <= EVIDENCE_CHARS else quote[: EVIDENCE_CHARS - 1].rstrip() + "…"


def _judge(kp: KeyPoint, m: _Match, concepts: int) -> tuple[PointVerdict, Finding | None]:
    quote = _quote(m.sentence)
    if concepts and m.concepts == concepts and m.negated:
        verdict = PointVerdict(
            point=kp.point,
            weight=kp.weight,
            verdict=Verdict.missing,
            evidence=quote,
            why="the answer states the opposite",
        )
        return verdict, Finding(text=f"Contradicts: {kp.point}", severity="major", evidence=quote)
    if concepts and m.affirmed == concepts:
        return PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.covered, evidence=quote), None
    if concepts >= 2 and m.affirmed >= math.ceil(concepts / 2):
        return PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.partial, evidence=quote), None
    return PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.missing), None


class OfflineGrader:
    """Deterministic, embedded, no network: an estimate of what an interviewer would grade."""

    name = NAME

    def grade(self, question: Question, answer: str) -> Grade:
        started = time.perf_counter()
        grade = self._grade(question, answer)
        grade.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return grade

    def _grade(self, question: Question, answer: str) -> Grade:
        compiled = _compile(question)
        reading = _Reading(answer, compiled)
        sentences = reading.sentences
        plain = " ".join(w.plain for s in sentences for w in s.words)
        if plain in NON_ANSWERS:
            return self._empty(question)

        verdicts: list[PointVerdict] = []
        errors: list[Finding] = []
        for kp, point in zip(question.key_points, compiled.points, strict=True):
            verdict, finding = _judge(kp, reading.best(point), sum(1 for c in point.concepts if c))
            verdicts.append(verdict)
            if finding:
                errors.append(finding)
        for misconception, concepts in zip(question.misconceptions, compiled.misconceptions, strict=True):
            sentence = reading.misconception(concepts)
            if sentence is not None:
                errors.append(
                    Finding(
                        text=misconception.point, severity=misconception.severity, evidence=_quote(sentence)
                    )
                )

        cap = cap_reason = None
        improvements: list[str] = []
        said = {w.key for s in sentences for c in s.clauses for w in c if not w.negator}
        if len(said - compiled.question_words) < ECHO_NEW_WORDS:
            cap = ECHO_CAP
            cap_reason = (
                "the answer restates the question without answering it"
                if len(said) >= ECHO_NEW_WORDS
                else "the answer is too short to show anything"
            )
        elif text.explained_share(sentences) < LIST_EXPLAINED_SHARE:
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
        verdicts = [
            PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.missing)
            for kp in question.key_points
        ]
        return Grade(
            grader=NAME,
            score=0.0,
            key_points=verdicts,
            improvements=["Give an answer: even a partial one can be graded and improved."],
            cap=0.0,
            cap_reason="no answer",
        )
