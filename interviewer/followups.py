"""Follow-up questions: what the interviewer asks after an answer, and how a question answered in
several turns is graded.

A question's grade judges all its turns together: the first answer, then each follow-up answer under a
label. The follow-up prompts themselves are left out of the graded text, so the interviewer's words
never count as the candidate's. A key point said only in a follow-up answer was recovered after a
prompt: it earns reduced credit (at most `partial`), as an interviewer gives less for a point they had
to ask for, and it is marked `recovered` for the reports.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from interviewer.bank import FollowUp, Question
from interviewer.grading import Grader
from interviewer.grading.model import CREDIT, Grade, PointVerdict, Verdict, compute_score


class FollowUpSource(Protocol):
    def follow_up(
        self, question: Question, answer: str, *, on_text: Callable[[str], None] | None = None
    ) -> str | None:
        """The follow-up to ask after `answer` (streamed through `on_text` where it can be), or None."""


class BankFollowUps:
    """Offline follow-ups: the bank's follow-up aimed at the answer's biggest gap, as the offline
    grader sees it; a complete answer gets the bank's deeper follow-up (one probing no key point)."""

    def __init__(self) -> None:
        from interviewer.grading.offline import OfflineGrader

        self._grader = OfflineGrader()
        self._asked: dict[str, set[str]] = {}  # per question id, the follow-ups this source gave

    def follow_up(
        self, question: Question, answer: str, *, on_text: Callable[[str], None] | None = None
    ) -> str | None:
        asked = self._asked.setdefault(question.id, set())
        chosen = pick(question, self._grader.grade(question, answer), asked)
        if chosen is not None:
            asked.add(chosen.prompt)
        if chosen is not None and on_text is not None:
            on_text(chosen.prompt)
        return chosen.prompt if chosen else None


def make_source(grader: Grader, note: Callable[[str], None] | None = None) -> FollowUpSource:
    """Where the follow-ups of an interview graded by `grader` come from: with an LLM grader, the
    model writes them (interviewer.grading.followup_llm) and the bank stands in when it cannot,
    said in one line through `note`; offline, the bank."""
    from interviewer.grading.llm import LLMGrader

    if not isinstance(grader, LLMGrader):
        return BankFollowUps()
    from interviewer.grading.followup_llm import LLMFollowUps

    return _Told(LLMFollowUps(grader, fallback=BankFollowUps()), note)


class _Told:
    """The model's follow-ups, with a line saying why when the bank's stood in for one."""

    def __init__(self, source: Any, note: Callable[[str], None] | None):
        self._source = source
        self._note = note

    def follow_up(
        self, question: Question, answer: str, *, on_text: Callable[[str], None] | None = None
    ) -> str | None:
        prompt = self._source.follow_up(question, answer, on_text=on_text)
        if self._source.last_failure and self._note is not None:
            self._note(f"The follow-up comes from the bank: {self._source.last_failure}")
        return prompt


def pick(question: Question, grade: Grade, asked: Collection[str] = ()) -> FollowUp | None:
    """The bank follow-up for the biggest gap of `grade`: the one whose probed key points lost the
    most weight; when no point was lost but an error was made, one probing the error's subject (or the
    first probing any point); for a complete answer, the deeper one (probes = []), if any. Follow-ups
    already `asked` are passed over: a second one aims at the next gap."""
    gaps = _gaps(question, grade)
    left = [f for f in question.follow_ups if f.prompt not in asked]
    probing = [f for f in left if f.probes]
    if probing and any(gaps.values()):
        best = max(probing, key=lambda f: sum(gaps.get(n, 0.0) for n in f.probes))
        if sum(gaps.get(n, 0.0) for n in best.probes) > 0:
            return best
    if probing and grade.errors:
        return _about_error(question, grade, probing)
    return next((f for f in left if not f.probes), None)


def _gaps(question: Question, grade: Grade) -> dict[int, float]:
    """Per key point (numbered from 1), the weight its verdict lost."""
    verdicts = {v.point: v for v in grade.key_points}
    lost = {}
    for number, point in enumerate(question.key_points, start=1):
        verdict = verdicts.get(point.point)
        if verdict is not None:
            lost[number] = point.weight * (1.0 - CREDIT[verdict.verdict.value])
    return lost


def _about_error(question: Question, grade: Grade, probing: Sequence[FollowUp]) -> FollowUp:
    """The follow-up probing a key point about the same thing as a misconception found."""
    found = {e.text for e in grade.errors}
    subjects = {m.about for m in question.misconceptions if m.point in found and m.about}
    for follow_up in probing:
        if any(question.key_points[n - 1].about in subjects for n in follow_up.probes):
            return follow_up
    return probing[0]


# --- grading a question over its turns -------------------------------------------------------------

FOLLOW_UP_LABEL = "[follow-up answer]"


def graded_text(first: str, follow_up_answers: Sequence[str]) -> str:
    """The text a question's grade judges: the first answer, then each non-empty follow-up answer."""
    parts = [first] + [f"{FOLLOW_UP_LABEL}\n{text}" for text in follow_up_answers if text.strip()]
    return "\n\n".join(p for p in parts if p.strip())


def grade_turns(grader: Grader, question: Question, first: str, follow_up_answers: Sequence[str]) -> Grade:
    """Grade a question over its turns; points said only after a follow-up get reduced credit."""
    from interviewer.session import grade_safely

    text = graded_text(first, follow_up_answers)
    grade = grade_safely(grader, question, text)
    if not grade.ok or text == first:
        return grade
    return reduce_recovered(grade, text, len(first))


def reduce_recovered(grade: Grade, text: str, first_end: int) -> Grade:
    """Mark the points whose evidence lies past `first_end` in `text` (in a follow-up answer) as
    recovered, at most `partial`, and score the grade again."""
    points = [_recovered(v) if _after(v, text, first_end) else v for v in grade.key_points]
    if points == grade.key_points:
        return grade
    score = compute_score(points, grade.errors, grade.cap)
    return grade.model_copy(update={"key_points": points, "score": score})


def _after(verdict: PointVerdict, text: str, first_end: int) -> bool:
    if verdict.verdict is Verdict.missing or not verdict.evidence:
        return False
    quote = verdict.evidence.rstrip("\u2026").strip()
    return bool(quote) and text.find(quote) >= first_end


def _recovered(verdict: PointVerdict) -> PointVerdict:
    return verdict.model_copy(update={"verdict": Verdict.partial, "recovered": True})
