"""Running sessions: store each answer the moment it is given, then grade it and store the grade."""

from __future__ import annotations

from dataclasses import dataclass

from interviewer.bank import Question
from interviewer.grading import Grader
from interviewer.grading.model import Grade
from interviewer.store import Attempt, Store, now


@dataclass(frozen=True)
class Graded:
    session_id: str
    answer_id: int
    question: Question
    grade: Grade


def grade_safely(grader: Grader, question: Question, text: str) -> Grade:
    """Grade, turning any failure into a failed grade with its reason (never a low score)."""
    try:
        return grader.grade(question, text)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a grader bug or an unreachable endpoint must not lose the answer
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Grade.failed(grader.name, reason)


class Practice:
    """Single-question practice: one session, any number of attempts."""

    def __init__(self, store: Store, grader: Grader, settings: dict | None = None):
        self.store = store
        self.grader = grader
        self.settings = settings or {}
        self.session_id: str | None = None

    def submit(self, question: Question, text: str, started_at: str | None = None) -> int:
        """Commit the answer before anything else can go wrong; return its id."""
        if self.session_id is None:
            self.session_id = self.store.create_session("practice", self.grader.name, self.settings)
        return self.store.add_answer(
            self.session_id, question.snapshot(), text, started_at=started_at or now()
        )

    def grade(self, answer_id: int, question: Question, text: str) -> Graded:
        grade = grade_safely(self.grader, question, text)
        self.store.add_grade(answer_id, grade.model_dump(mode="json"))
        assert self.session_id is not None
        return Graded(self.session_id, answer_id, question, grade)

    def answer(self, question: Question, text: str, started_at: str | None = None) -> Graded:
        return self.grade(self.submit(question, text, started_at), question, text)

    def close(self, status: str = "completed") -> None:
        if self.session_id is not None:
            self.store.end_session(self.session_id, status)


def question_of(attempt: Attempt) -> Question:
    """The question as it was asked, from the answer's snapshot."""
    data = {k: v for k, v in attempt.question.items() if k != "content_hash"}
    return Question.model_validate(data)


def grade_pending(store: Store, session_id: str, grader: Grader) -> list[tuple[Attempt, Grade]]:
    """Grade every answer of a session that is pending or failed; return what was graded."""
    done = []
    for attempt in store.attempts(session_id=session_id):
        if attempt.grade_status == "graded" or attempt.skipped:
            continue
        question = question_of(attempt)
        grade = grade_safely(grader, question, attempt.text)
        store.add_grade(attempt.answer_id, grade.model_dump(mode="json"))
        done.append((attempt, grade))
    return done
