"""Running sessions: store each answer the moment it is given, then grade it and store the grade."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, as_completed
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from interviewer import recovery
from interviewer.bank import Question
from interviewer.defaults import DEFAULT_PER_QUESTION
from interviewer.errors import StoreError, UsageError
from interviewer.followups import FollowUpSource, grade_turns, graded_text
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
        return Grade.failed(grader.name, _reason(exc))


def _reason(exc: Exception) -> str:
    """An exception as the one-line reason of a failed grade."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class Practice:
    """Single-question practice: one session, any number of attempts."""

    def __init__(self, store: Store, grader: Grader, settings: dict | None = None):
        self.store = store
        self.grader = grader
        self.settings = settings or {}
        self.session_id: str | None = None

    def submit(self, question: Question, text: str, started_at: str | None = None) -> int:
        """Commit the answer before anything else can go wrong; return its id. When the database
        refuses it, it goes to a recovery file, which the `AnswerNotStored` raised names."""
        started_at, snapshot = started_at or now(), question.snapshot()
        try:
            if self.session_id is None:
                self.session_id = self.store.create_session("practice", self.grader.name, self.settings)
            return self.store.add_answer(self.session_id, snapshot, text, started_at=started_at)
        except StoreError as exc:
            unsaved = recovery.Unsaved(
                "practice", self.grader.name, self.session_id, snapshot, text, started_at, now()
            )
            raise recovery.keep(self.store.path.parent, [unsaved], exc) from None

    def grade(
        self, answer_id: int, question: Question, text: str, follow_up_answers: Sequence[str] = ()
    ) -> Graded:
        grade = grade_turns(self.grader, question, text, follow_up_answers)
        assert self.session_id is not None
        try:
            self.store.add_grade(answer_id, grade.model_dump(mode="json"))
        except StoreError as exc:
            raise StoreError(
                f"{exc}\nyour answer is saved; `interviewer grade {self.session_id}` grades it later"
            ) from None
        return Graded(self.session_id, answer_id, question, grade)

    def follow_up(self, answer_id: int, prompt: str) -> int:
        """Store a follow-up as asked after an answer; its turn id."""
        return self.store.ask_follow_up(answer_id, 2, prompt, started_at=now(), time_limit=None)

    def answer(self, question: Question, text: str, started_at: str | None = None) -> Graded:
        return self.grade(self.submit(question, text, started_at), question, text)

    def close(self, status: str = "completed") -> None:
        if self.session_id is not None:
            self.store.set_status(self.session_id, status, ended=True)


def question_of(attempt: Attempt) -> Question:
    """The question as it was asked, from the answer's snapshot."""
    return _question(attempt.question)


def grade_pending(
    store: Store, session_id: str, grader: Grader, *, regrade: bool = False
) -> list[tuple[Attempt, Grade]]:
    """Grade every answer of a session that is pending or failed (with `regrade`, every answer);
    return what was graded. Earlier grades stay on record."""
    done = []
    for attempt in store.attempts(session_id=session_id):
        if attempt.skipped or (attempt.grade_status == "graded" and not regrade):
            continue
        question = question_of(attempt)
        grade = grade_turns(grader, question, attempt.text, attempt.follow_up_answers)
        store.add_grade(attempt.answer_id, grade.model_dump(mode="json"))
        done.append((attempt, grade))
    return done


# --- the timed mock interview -------------------------------------------------------------------

MAX_CONCURRENT_GRADES = 5


@dataclass(frozen=True)
class Turn:
    """A question still to be asked, or a follow-up to it: the question's number in the interview and
    the turn's time limit; a follow-up has its prompt and the id of its stored row."""

    number: int
    question: Question
    limit: float | None  # seconds; None for no limit
    follow_up: str | None = None
    turn_id: int | None = None


@dataclass
class _Asking:
    """The question whose follow-ups are being asked: its first answer and what came after."""

    answer_id: int
    number: int
    question: Question
    first: str
    prompts: list[str]  # the follow-ups asked so far
    answers: list[str]  # and their answers
    unanswered: Turn | None = None  # one asked before the interview stopped, to ask again


class MockInterview:
    """Questions asked in order under a clock; each answer is committed as given and graded in the
    background (bounded concurrency), so the summary is ready about one grading call after the last.
    """

    def __init__(
        self,
        store: Store,
        grader: Grader,
        session_id: str,
        questions: list[Question],
        *,
        per_question: float | None,
        total: float | None,
        answered: int = 0,
        used: float = 0.0,
        follow_ups: FollowUpSource | None = None,
        most_follow_ups: int = 0,
    ):
        self.store, self.grader, self.session_id = store, grader, session_id
        self.questions, self.per_question, self.total = questions, per_question, total
        self.answered, self.used = answered, used
        self.follow_ups = follow_ups if most_follow_ups > 0 else None
        self.most_follow_ups = most_follow_ups
        # Where a follow-up shows while it is being written (a model's, streamed); None: when done.
        self.follow_up_text: Callable[[str], None] | None = None
        self._asking: _Asking | None = None
        self._grading = BackgroundGrading(MAX_CONCURRENT_GRADES)
        self.unstored: dict[int, str] = {}  # answer id -> why not even its failure could be stored

    @classmethod
    def start(
        cls,
        store: Store,
        grader: Grader,
        questions: list[Question],
        *,
        per_question: float | None = DEFAULT_PER_QUESTION,
        total: float | None = None,
        options: dict[str, Any] | None = None,
        script: Sequence[str] = (),
        follow_ups: FollowUpSource | None = None,
        most_follow_ups: int = 0,
    ) -> MockInterview:
        """Create the interview's session. When the database refuses it, the answers given in
        advance (`script`) go to a recovery file, which the `AnswerNotStored` raised names."""
        settings = {
            "questions": [q.snapshot() for q in questions],
            "per_question": per_question,
            "total": total,
            "follow_ups": most_follow_ups if follow_ups else 0,
            **(options or {}),
        }
        try:
            session_id = store.create_session("mock", grader.name, settings)
        except StoreError as exc:
            if not any(text.strip() for text in script):
                raise
            given = zip(questions, script, strict=False)
            kept = [_unsaved(grader, None, q, t, now(), per_question) for q, t in given if t.strip()]
            raise recovery.keep(store.path.parent, kept, exc) from None
        return cls(
            store,
            grader,
            session_id,
            questions,
            per_question=per_question,
            total=total,
            follow_ups=follow_ups,
            most_follow_ups=most_follow_ups,
        )

    @classmethod
    def resume(
        cls,
        store: Store,
        grader: Grader,
        ref: str,
        follow_ups: FollowUpSource | None = None,
        most_follow_ups: int | None = None,
    ) -> MockInterview:
        """Continue an interrupted interview where it stopped, with the time it had left and as many
        follow-ups as it asked (unless `most_follow_ups` says otherwise); answers left ungraded (the
        process was killed before their grades came) are graded in the background."""
        from interviewer.formats import elapsed
        from interviewer.summary import stored_limit

        row = store.session(ref)
        if row.mode != "mock":
            raise UsageError(f"session {row.id} is a {row.mode} session, not a mock interview")
        if row.status == "completed":
            raise UsageError(f"session {row.id} is complete; `interviewer mock` starts a new one")
        questions = [_question(q) for q in row.settings["questions"]]
        attempts = store.attempts(session_id=row.id)
        used = sum(elapsed(a.started_at, a.submitted_at) for a in attempts)
        used += sum(
            elapsed(t.started_at, t.submitted_at) for a in attempts for t in a.follow_ups if t.submitted_at
        )
        run = cls(
            store,
            grader,
            row.id,
            questions,
            per_question=stored_limit(row.settings.get("per_question")),
            total=stored_limit(row.settings.get("total")),
            answered=len(attempts),
            used=used,
            follow_ups=follow_ups,
            most_follow_ups=_stored_count(row.settings.get("follow_ups"))
            if most_follow_ups is None
            else most_follow_ups,
        )
        for attempt in attempts:
            if attempt.open_follow_up is not None:
                run._asking = _resumed_asking(attempt)
            elif attempt.grade_status == "pending" and not attempt.skipped:
                run._grade_in_background(
                    attempt.answer_id, question_of(attempt), attempt.text, attempt.follow_up_answers
                )
        return run

    def turns(self) -> Iterator[Turn]:
        """The turns still to ask, each with the time it may take: each question, then its follow-ups
        (each under its own clock, as a question); stops when time is up."""
        while True:
            if self._asking is not None:
                follow_up = self._next_follow_up(self._asking)
                if follow_up is not None:
                    yield follow_up
                    continue
                self.settle()
            limit = self._limit()
            if self.answered >= len(self.questions) or (limit is not None and limit <= 0):
                return
            yield Turn(self.answered + 1, self.questions[self.answered], limit)

    @property
    def follow_up_pending(self) -> bool:
        """Whether the interview stopped during a follow-up, which it asks first when resumed."""
        return self._asking is not None and self._asking.unanswered is not None

    def _limit(self) -> float | None:
        limits = [x for x in (self.per_question, self.total and self.total - self.used) if x is not None]
        return min(limits) if limits else None

    def _next_follow_up(self, asking: _Asking) -> Turn | None:
        """The follow-up to ask next about the current question, stored as asked; None when there is
        none to ask (enough were asked, time is up, the source has none or fails)."""
        limit = self._limit()
        if limit is not None and limit <= 0:
            asking.unanswered = None  # a resumed interview out of time: grade the turns it has
            return None
        if asking.unanswered is not None:
            return replace(asking.unanswered, limit=limit)
        if self.follow_ups is None or len(asking.prompts) >= self.most_follow_ups:
            return None
        try:
            prompt = self.follow_ups.follow_up(
                asking.question, graded_text(asking.first, asking.answers), on_text=self.follow_up_text
            )
        except Exception:  # no follow-up is better than a stuck interview
            prompt = None
        if not prompt or prompt in asking.prompts:
            return None
        number = len(asking.prompts) + 2
        turn_id = self.store.ask_follow_up(
            asking.answer_id, number, prompt, started_at=now(), time_limit=limit
        )
        asking.prompts.append(prompt)
        asking.unanswered = Turn(asking.number, asking.question, limit, follow_up=prompt, turn_id=turn_id)
        return asking.unanswered

    def settle(self) -> None:
        """Grade the current question, if its follow-ups are all answered (one left unanswered when
        the interview stopped waits for `--resume`)."""
        asking, self._asking = self._asking, None
        if asking is None:
            return
        if asking.unanswered is not None:
            self._asking = asking
            return
        self._grade_in_background(asking.answer_id, asking.question, asking.first, asking.answers)

    def warm(self) -> threading.Thread | None:
        return warm(self.grader)

    def time_left(self) -> float | None:
        """Seconds left for the whole interview, when it has a clock for the whole."""
        return None if self.total is None else max(0.0, self.total - self.used)

    def submit(
        self,
        turn: Turn,
        text: str,
        *,
        started: str,
        elapsed: float,
        timed_out: bool = False,
        skipped: bool = False,
        unasked: Sequence[str] = (),
    ) -> int:
        """Commit the answer, then grade it in the background (a skipped or empty one is not graded).

        When the database refuses it, it goes to a recovery file with the answers given in advance
        to the questions after it (`unasked`), and the `AnswerNotStored` raised names the file.
        """
        skipped = skipped or not text.strip()
        if turn.turn_id is not None:
            self._answer_follow_up(turn, text, started, elapsed, timed_out, skipped)
            return turn.turn_id
        unsaved = _unsaved(
            self.grader, self.session_id, turn.question, text, started, turn.limit, timed_out, skipped
        )
        try:
            answer_id = self.store.add_answer(
                self.session_id,
                unsaved.question,
                text,
                started_at=started,
                time_limit=turn.limit,
                timed_out=timed_out,
                skipped=skipped,
            )
        except StoreError as exc:
            later = zip(self.questions[turn.number :], unasked, strict=False)
            kept = [unsaved]
            kept += [
                _unsaved(self.grader, self.session_id, q, t, now(), turn.limit) for q, t in later if t.strip()
            ]
            raise recovery.keep(self.store.path.parent, kept, exc) from None
        self.answered += 1
        self.used += elapsed
        if skipped:
            return answer_id
        if self.follow_ups is not None:
            self._asking = _Asking(answer_id, turn.number, turn.question, text, [], [])
        else:
            self._grade_in_background(answer_id, turn.question, text)
        return answer_id

    def _answer_follow_up(
        self, turn: Turn, text: str, started: str, elapsed: float, timed_out: bool, skipped: bool
    ) -> None:
        """Commit a follow-up's answer; the question is graded once its follow-ups are done."""
        assert turn.turn_id is not None and self._asking is not None
        try:
            self.store.answer_follow_up(
                turn.turn_id, text, started_at=started, timed_out=timed_out, skipped=skipped
            )
        except StoreError as exc:
            unsaved = _unsaved(
                self.grader, self.session_id, turn.question, text, started, turn.limit, timed_out
            )
            raise recovery.keep(self.store.path.parent, [unsaved], exc) from None
        self._asking.unanswered = None
        self._asking.answers.append(text)
        self.used += elapsed

    def _grade_in_background(
        self, answer_id: int, question: Question, text: str, follow_up_answers: Sequence[str] = ()
    ) -> None:
        self._grading.submit(self._grade, answer_id, question, text, follow_up_answers)

    def _grade(self, answer_id: int, question: Question, text: str, follow_up_answers: Sequence[str]) -> None:
        """Grade and store the grade. Whatever goes wrong (the store refuses the grade, a grader
        returns nonsense) is stored as a failed grade with its reason; when even that cannot be
        stored, the reason is kept in `unstored` for the candidate to be told."""
        try:
            grade = grade_turns(self.grader, question, text, follow_up_answers)
            self.store.add_grade(answer_id, grade.model_dump(mode="json"))
        except Exception as exc:
            reason = _reason(exc)
            try:
                self.store.add_grade(
                    answer_id, Grade.failed(self.grader.name, reason).model_dump(mode="json")
                )
            except Exception:
                self.unstored[answer_id] = reason

    def pending(self) -> int:
        return self._grading.pending()

    def wait(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Block until every grade is in; `progress(done, total)` after each."""
        self._grading.wait(progress)

    def abandon(self) -> None:
        """Stop at once (the database failed, a signal came, or the candidate stopped waiting):
        grades not started are dropped, running ones end with the process, nothing is written."""
        self._grading.cancel()

    def finish(self, status: str = "completed") -> None:
        self.store.set_status(self.session_id, status, ended=True)


def warm(grader: Grader) -> threading.Thread | None:
    """Prepare the grader (import the LLM client, connect) while the first question is on screen;
    returns the thread doing it, if there is anything to do.

    It runs beside the grading, not in one of its slots, and is no answer to wait for."""
    work = getattr(grader, "warm", None)
    if work is None:
        return None
    thread = threading.Thread(target=_quietly, args=(work,), daemon=True, name="warm")
    thread.start()
    return thread


def _quietly(work: Callable[[], Any]) -> None:
    """Run a warm-up: when it fails, the first grade meets the same failure and records it."""
    with suppress(Exception):
        work()


class BackgroundGrading:
    """At most `slots` grading calls at once, on daemon threads: a process that stops waiting for
    grades (Ctrl-C, a signal) ends at once instead of joining calls that may take a minute."""

    def __init__(self, slots: int):
        self._slots = threading.BoundedSemaphore(slots)
        self._futures: list[Future[None]] = []

    def submit(self, work: Callable[..., None], *args: Any) -> None:
        future: Future[None] = Future()

        def run() -> None:
            with self._slots:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    work(*args)
                    future.set_result(None)
                except BaseException as exc:
                    future.set_exception(exc)

        self._futures.append(future)
        threading.Thread(target=run, daemon=True, name="grade").start()

    def pending(self) -> int:
        return sum(not f.done() for f in self._futures)

    def wait(self, progress: Callable[[int, int], None] | None = None) -> None:
        total = len(self._futures)
        done = total - self.pending()
        if progress:
            progress(done, total)
        for _ in as_completed([f for f in self._futures if not f.done()]):
            done += 1
            if progress:
                progress(done, total)

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()


def _unsaved(
    grader: Grader,
    session_id: str | None,
    question: Question,
    text: str,
    started: str,
    limit: float | None,
    timed_out: bool = False,
    skipped: bool = False,
) -> recovery.Unsaved:
    """A mock interview's answer, for a recovery file."""
    snapshot = question.snapshot()
    return recovery.Unsaved(
        "mock", grader.name, session_id, snapshot, text, started, now(), limit, timed_out, skipped
    )


def _stored_count(value: Any) -> int:
    """A count read back from a session's settings (absent in sessions from before follow-ups)."""
    return value if isinstance(value, int) and value >= 0 else 0


def _resumed_asking(attempt: Attempt) -> _Asking:
    """The follow-ups of a question that an interview stopped in, the unanswered one to ask again."""
    question = question_of(attempt)
    open_turn = attempt.open_follow_up
    assert open_turn is not None
    again = Turn(attempt.position, question, None, follow_up=open_turn.prompt, turn_id=open_turn.turn_id)
    return _Asking(
        attempt.answer_id,
        attempt.position,
        question,
        attempt.text,
        [t.prompt for t in attempt.follow_ups],
        attempt.follow_up_answers,
        again,
    )


def _question(snapshot: dict[str, Any]) -> Question:
    return Question.model_validate({k: v for k, v in snapshot.items() if k != "content_hash"})


def split_answers(text: str) -> list[str]:
    """Answers given as one text: separated by lines holding only `---`."""
    parts: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip() == ANSWER_SEPARATOR:
            parts.append([])
        else:
            parts[-1].append(line)
    answers = ["\n".join(p).strip() for p in parts]
    while answers and not answers[-1]:
        answers.pop()
    return answers


ANSWER_SEPARATOR = "---"
