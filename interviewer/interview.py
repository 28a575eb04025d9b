"""The interview loops: a timed mock interview and a practice session, turn by turn.

They decide what is asked next, when time is up, what is stored and graded, and the session's
status; they talk to the candidate only through a `MockCandidate` or `PracticeCandidate` (the
terminal in the CLI, given answers in a script, prompt_toolkit's pipe input in tests), so how
anything is drawn is not their business.

A question is asked in turns: the answer to its prompt, then the follow-ups the interviewer asks
about it. `MockInterview.turns` yields them all, so this loop treats every turn alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

from interviewer.bank import Question
from interviewer.errors import Stopped
from interviewer.followups import FollowUpSource
from interviewer.grading import Grader
from interviewer.grading.model import Grade, Verdict
from interviewer.inputs import MAX_ANSWER_CHARS
from interviewer.session import Graded, MockInterview, Practice, Turn, warm
from interviewer.store import now


class AnswerCancelled(Exception):
    """The candidate pressed Ctrl-C while answering, or a signal (`signal`: SIGTERM, SIGHUP) stopped
    the editor; `text` is what they had typed."""

    def __init__(self, text: str, signal: int | None = None):
        super().__init__("cancelled")
        self.text = text
        self.signal = signal


@dataclass(frozen=True)
class Reply:
    """A turn's answer: its text, how it ended (submitted | timed_out | skipped), the seconds taken."""

    text: str
    outcome: str
    seconds: float


# --- the timed mock interview ---------------------------------------------------------------------


class MockCandidate(Protocol):
    def ready(self) -> bool:
        """Whether to begin; a new interview's session is created only once they are."""

    def answer(self, turn: Turn, count: int) -> Reply:
        """The answer to `turn` (of `count` questions); raises `AnswerCancelled` when they stop."""

    def later_answers(self) -> Sequence[str]:
        """Answers given in advance to the questions after the current one (a script's; none typed)."""

    def note(self, message: str) -> None: ...

    def waiting(self) -> AbstractContextManager[Callable[[int, int], None] | None]:
        """While the last grades come in: a progress callback `(done, total)`, or None."""

    def writing(self) -> Callable[[str], None] | None:
        """Where a follow-up shows word by word while a model writes it (each call: the whole text so
        far, "" to withdraw it), or None when it is shown only once complete."""


@dataclass(frozen=True)
class Ended:
    run: MockInterview
    status: str  # completed | interrupted


def mock_interview(
    grader: Grader, begin: Callable[[], MockInterview], candidate: MockCandidate
) -> Ended | None:
    """Run a mock interview to its end: `begin` creates (or resumes) its session once the candidate
    is ready; None when they were not, and nothing is stored.

    The status is `interrupted` unless every question is asked: whatever stops the loop (Ctrl-C in
    the editor or anywhere else) leaves an interview that `mock --resume` continues.
    """
    warm(grader)  # while the candidate reads the opening and the first question
    if not candidate.ready():
        return None
    run = begin()
    run.follow_up_text = candidate.writing()
    status = "interrupted"
    try:
        status = _ask_every_turn(run, candidate)
    except KeyboardInterrupt:
        pass
    except BaseException:  # the database failed, or a signal came: stop at once, waiting on nothing
        run.abandon()
        raise
    run.settle()  # a question stopped in its follow-ups is graded on what it has
    if not _wait_for_grades(run, candidate):
        status = "interrupted"
    run.finish(status)
    for answer_id, reason in run.unstored.items():
        candidate.note(f"Answer {answer_id} could not be graded, and its failure not stored: {reason}")
    return Ended(run, status)


def _ask_every_turn(run: MockInterview, candidate: MockCandidate) -> str:
    """Ask each turn still to ask; returns the session's status."""
    for turn in run.turns():
        started = now()
        try:
            reply = candidate.answer(turn, len(run.questions))
        except AnswerCancelled as cancelled:
            if cancelled.text.strip():
                run.submit(turn, _within_limit(cancelled.text, candidate.note), started=started, elapsed=0.0)
            if cancelled.signal:
                run.finish("interrupted")  # at once: no waiting for grades after a signal
                run.abandon()
                raise Stopped(
                    cancelled.signal,
                    f"your answers are saved; `interviewer mock --resume {run.session_id}` continues",
                ) from None
            return "interrupted"
        if reply.outcome == "timed_out":
            candidate.note("Time is up: what you typed is submitted.")
        run.submit(
            turn,
            _within_limit(reply.text, candidate.note),
            started=started,
            elapsed=reply.seconds,
            timed_out=reply.outcome == "timed_out",
            skipped=reply.outcome == "skipped",
            unasked=candidate.later_answers(),
        )
    if run.answered < len(run.questions):
        left = len(run.questions) - run.answered
        candidate.note(f"The interview's time is up: {left} question(s) not reached.")
    return "completed"


def _wait_for_grades(run: MockInterview, candidate: MockCandidate) -> bool:
    """Wait for the grades still running; False when the candidate stopped waiting (Ctrl-C): the
    grades not in yet are left pending, and nothing holds the process any longer."""
    try:
        with candidate.waiting() as progress:
            run.wait(progress)
    except KeyboardInterrupt:
        run.abandon()
        candidate.note(f"Stopped waiting: `interviewer grade {run.session_id}` grades what is left.")
        return False
    return True


class Script:
    """A mock interview's answers given in advance (standard input, --answers): a blank one is a skip,
    and questions past the last answer are skipped."""

    def __init__(
        self,
        answers: Sequence[str],
        note: Callable[[str], None],
        *,
        cut_short: bool = False,
        signal: int | None = None,
    ):
        self._answers = list(answers)
        self._given = 0
        self.note = note
        # Ctrl-C (or `signal`) stopped the script while it was being typed: its last answer is
        # taken as Ctrl-C in the editor takes one, and the interview stops there.
        self._cut_short = cut_short
        self._signal = signal

    def ready(self) -> bool:
        return True

    def answer(self, turn: Turn, count: int) -> Reply:
        text = self._answers[self._given] if self._given < len(self._answers) else ""
        self._given += 1
        if self._cut_short and self._given >= len(self._answers):
            raise AnswerCancelled(text, signal=self._signal)
        return Reply(text, "submitted" if text.strip() else "skipped", 0.0)

    def later_answers(self) -> Sequence[str]:
        return self._answers[self._given :]

    def waiting(self) -> AbstractContextManager[None]:
        return nullcontext()

    def writing(self) -> None:
        return None


# --- practice ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What changed since the previous attempt at a question: the score, the points newly covered, and
    those missing both times."""

    score_before: float
    score_after: float
    newly_covered: list[str]
    still_missing: list[str]


def change(before: Grade | None, after: Grade) -> Change | None:
    if before is None or not before.ok or not after.ok or before.score is None or after.score is None:
        return None
    earlier = {kp.point: kp.verdict for kp in before.key_points}
    return Change(
        before.score,
        after.score,
        [
            kp.point
            for kp in after.key_points
            if kp.verdict is Verdict.covered and earlier.get(kp.point) is not Verdict.covered
        ],
        [
            kp.point
            for kp in after.key_points
            if kp.verdict is Verdict.missing and earlier.get(kp.point) is Verdict.missing
        ],
    )


class PracticeCandidate(Protocol):
    def answer(self, question: Question, draft: str) -> str:
        """A non-empty answer, starting from `draft`; raises `AnswerCancelled` when they stop."""

    def follow_up(self, prompt: str) -> str:
        """The answer to the interviewer's follow-up (empty: skipped); raises `AnswerCancelled`."""

    def writing(self) -> Callable[[str], None] | None:
        """As `MockCandidate.writing`."""

    def grading(self, grader: str) -> AbstractContextManager[object]:
        """While the answer is graded."""

    def graded(self, result: Graded, since: Change | None) -> None:
        """Show the feedback, and what changed since the previous attempt."""

    def again(self) -> bool:
        """Whether to try the question again."""

    def rating(self, result: Graded) -> str | None:
        """The candidate's own rating of their first answer for the schedule (again, hard, good,
        easy), where the grade's is wrong about what they know; None keeps the grade's."""

    def note(self, message: str) -> None: ...


class GivenAnswer:
    """One practice answer given at once (standard input, --answer-file): `read` returns it, or
    raises `UsageError` for one that cannot be graded, or `AnswerCancelled` on Ctrl-C."""

    def __init__(
        self,
        read: Callable[[], str],
        note: Callable[[str], None],
        *,
        follow_up: bool = False,
        rating: str | None = None,
    ):
        self._read = read
        self.note = note
        self._follow_up = follow_up  # the text holds the answer, ---, then the follow-up's answer
        self._later = ""
        self._rating = rating  # given with --rate

    def answer(self, question: Question, draft: str) -> str:
        text = self._read()
        if not self._follow_up:
            return text
        from interviewer.session import split_answers

        blocks = split_answers(text)
        self._later = "\n\n".join(blocks[1:])
        return blocks[0] if blocks else ""

    def follow_up(self, prompt: str) -> str:
        return self._later

    def writing(self) -> None:
        return None

    def grading(self, grader: str) -> AbstractContextManager[object]:
        return nullcontext()

    def graded(self, result: Graded, since: Change | None) -> None:
        pass

    def again(self) -> bool:
        return False

    def rating(self, result: Graded) -> str | None:
        return self._rating


def practise(
    run: Practice,
    question: Question,
    candidate: PracticeCandidate,
    follow_ups: FollowUpSource | None = None,
) -> list[Graded]:
    """Answer `question` until the candidate has had enough; every attempt is stored, then graded.
    With `follow_ups`, the first answer gets a follow-up, graded with it."""
    attempts: list[Graded] = []
    draft, previous = "", None
    while True:
        started = now()
        try:
            text = candidate.answer(question, draft)
        except AnswerCancelled as cancelled:
            _keep_unfinished(run, question, cancelled, started, candidate.note)
        answer_id = run.submit(question, text, started)
        asked = follow_ups if not attempts else None
        later = _practice_follow_up(run, question, answer_id, text, asked, candidate) if asked else []
        try:
            with candidate.grading(run.grader.name):
                result = run.grade(answer_id, question, text, later)
        except KeyboardInterrupt:
            run.close("interrupted")
            candidate.note(
                f"Your answer is saved, not graded. `interviewer grade {run.session_id}` grades it."
            )
            raise
        candidate.graded(result, change(previous, result.grade))
        attempts.append(result)
        try:
            if len(attempts) == 1:  # a retry follows the feedback: only the first answer counts
                own = candidate.rating(result)
                if own is not None:
                    run.store.rate(answer_id, own)
            if not candidate.again():
                break
        except KeyboardInterrupt:  # at the rating or "Try again?": every answer is stored and graded
            run.close()
            candidate.note(f"Session {run.session_id} saved. `interviewer history` lists your attempts.")
            raise
        draft, previous = text, (result.grade if result.grade.ok else previous)
    run.close()
    return attempts


def _practice_follow_up(
    run: Practice,
    question: Question,
    answer_id: int,
    text: str,
    source: FollowUpSource,
    candidate: PracticeCandidate,
) -> list[str]:
    """Ask the follow-up to a practice answer, and store its answer; the answers to grade with it."""
    try:
        prompt = source.follow_up(question, text, on_text=candidate.writing())
    except Exception as exc:  # the answer is graded without one, never stuck
        candidate.note(f"No follow-up: {exc}")
        return []
    if not prompt:
        return []
    turn_id = run.follow_up(answer_id, prompt)
    started = now()
    try:
        reply = candidate.follow_up(prompt)
    except AnswerCancelled as cancelled:
        reply = _within_limit(cancelled.text, candidate.note)
        run.store.answer_follow_up(turn_id, reply, started_at=started, skipped=not reply.strip())
        run.close("interrupted")
        candidate.note(
            f"Your answers are saved, not graded. `interviewer grade {run.session_id}` grades them."
        )
        if cancelled.signal:
            raise Stopped(cancelled.signal, "what you had typed is saved") from None
        raise KeyboardInterrupt from None
    run.store.answer_follow_up(turn_id, reply, started_at=started, skipped=not reply.strip())
    return [reply]


def _keep_unfinished(
    run: Practice, question: Question, cancelled: AnswerCancelled, started: str, note: Callable[[str], None]
) -> None:
    """On Ctrl-C, or a signal (SIGTERM, SIGHUP) while typing: save what was typed, ungraded, then stop."""
    text = cancelled.text
    if text.strip():
        answer_id = run.submit(question, _within_limit(text, note), started)
        run.close("interrupted")
        note(
            f"Saved your answer (attempt {answer_id}, not graded). `interviewer grade {run.session_id}` grades it."
        )
    if cancelled.signal:
        raise Stopped(
            cancelled.signal, "what you had typed is saved" if text.strip() else "nothing was typed"
        )
    raise KeyboardInterrupt


def _within_limit(text: str, note: Callable[[str], None]) -> str:
    """An answer kept as it stands though not submitted (the clock ran out, or Ctrl-C): cut to the
    limit the editor holds a submitted one to, saying so."""
    if len(text) <= MAX_ANSWER_CHARS:
        return text
    note(
        f"Your answer has {len(text):,} characters: its first {MAX_ANSWER_CHARS:,} are kept, "
        "the most an answer may have."
    )
    return text[:MAX_ANSWER_CHARS]
