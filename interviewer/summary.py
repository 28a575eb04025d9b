"""A session's results, from what the store holds: per question, in total, per topic, and what next.

Pending and failed grades are reported as such and left out of every average, never counted as 0;
a skipped question counts as 0, as it would in an interview.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from interviewer.formats import FAIR, GOOD, elapsed
from interviewer.store import Attempt, FollowUpTurn, Scored, SessionRow, Store

TOP = 3


@dataclass(frozen=True)
class QuestionResult:
    number: int
    question_id: str
    topic: str
    prompt: str
    status: str  # graded | failed | pending | skipped | not reached
    score: float | None
    seconds: float | None  # time used
    limit: float | None
    timed_out: bool
    answer_id: int | None
    failure: str | None = None
    follow_ups: int = 0  # follow-ups asked after the first answer
    # Each follow-up asked, and how it went: "answered", "skipped", "timed out" or "not answered".
    follow_up_turns: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    session_id: str
    mode: str
    status: str
    grader: str
    started_at: str
    questions: list[QuestionResult]
    total: float | None  # mean of graded and skipped (as 0); None when nothing is graded yet
    topics: dict[str, float]  # topic -> mean score
    strongest: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    @property
    def unfinished(self) -> list[QuestionResult]:
        return [q for q in self.questions if q.status in {"pending", "failed"}]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stored_limit(seconds: Any) -> float | None:
    """A time limit read back from the database. An infinite one, which `--per-question inf` could
    store before the options were bounded, means no limit: it must not crash every later report."""
    return seconds if isinstance(seconds, int | float) and math.isfinite(seconds) else None


def _result(number: int, a: Attempt) -> QuestionResult:
    status = "skipped" if a.skipped else a.grade_status
    failure = (a.grade or {}).get("failure") if status == "failed" else None
    return QuestionResult(
        number=number,
        question_id=a.question_id,
        topic=a.question["topic"],
        prompt=a.question["prompt"],
        status=status,
        score=a.score if status == "graded" else (0.0 if status == "skipped" else None),
        seconds=elapsed(a.started_at, a.submitted_at)
        + sum(elapsed(t.started_at, t.submitted_at) for t in a.follow_ups if t.submitted_at),
        limit=stored_limit(a.time_limit),
        timed_out=a.timed_out,
        answer_id=a.answer_id,
        failure=failure,
        follow_ups=len(a.follow_ups),
        follow_up_turns=[(t.prompt, _outcome(t)) for t in a.follow_ups],
    )


def _outcome(turn: FollowUpTurn) -> str:
    if turn.text is None:
        return "not answered"
    return "skipped" if turn.skipped else "timed out" if turn.timed_out else "answered"


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def summarize(store: Store, row: SessionRow) -> Summary:
    attempts = store.attempts(session_id=row.id)
    results = [_result(i, a) for i, a in enumerate(attempts, start=1)]
    planned = row.settings.get("questions", [])
    for number, snapshot in enumerate(planned[len(attempts) :], start=len(attempts) + 1):
        results.append(
            QuestionResult(
                number,
                snapshot["id"],
                snapshot["topic"],
                snapshot["prompt"],
                "not reached",
                None,
                None,
                stored_limit(row.settings.get("per_question")),
                False,
                None,
            )
        )
    counted = [r for r in results if r.score is not None]
    topics: dict[str, list[float]] = {}
    for r in counted:
        topics.setdefault(r.topic, []).append(r.score or 0.0)
    per_topic = {t: _mean(v) or 0.0 for t, v in topics.items()}

    graded = [a for a in attempts if a.grade_status == "graded" and a.grade]
    strongest = _strongest(graded)
    gaps = (_errors(graded)[:1] + _missing(graded))[:TOP]

    next_steps = []
    weak = sorted((score, topic) for topic, score in per_topic.items() if score < GOOD)
    for score, topic in weak[:2]:
        next_steps.append(f"interviewer practice --topic {topic}   (averaged {score:g}/10)")
    for r in sorted((r for r in counted if (r.score or 0) < GOOD), key=lambda r: r.score or 0)[:2]:
        next_steps.append(f"interviewer practice {r.question_id}   (scored {r.score:g}/10)")
    if any(r.status in {"pending", "failed"} for r in results):
        next_steps.insert(0, f"interviewer grade {row.id}   (grades what is pending or failed)")

    graders = sorted({a.grader for a in attempts if a.grade_status == "graded" and a.grader})
    return Summary(
        session_id=row.id,
        mode=row.mode,
        status=row.status,
        grader=", ".join(graders) or row.grader,  # what graded the answers, after any regrading
        started_at=row.started_at,
        questions=results,
        total=_mean([r.score or 0.0 for r in counted]),
        topics=per_topic,
        strongest=strongest,
        gaps=gaps,
        next_steps=next_steps,
    )


def _strongest(graded: list[Attempt]) -> list[str]:
    """The points covered in the best answers: each answer's heaviest covered point, best answer
    first, then their next points, so the list is not one question's checklist. A point that a weak
    answer (under FAIR) happened to cover is no strength."""
    ranked = []
    for a in graded:
        if (a.score or 0.0) < FAIR:
            continue
        points = sorted(
            (kp for kp in a.grade["key_points"] if kp["verdict"] == "covered"),  # type: ignore[index]
            key=lambda kp: -kp["weight"],
        )
        for rank, kp in enumerate(points):
            ranked.append(((rank, -(a.score or 0.0), -kp["weight"]), f"{a.question_id}: {kp['point']}"))
    return [text for _, text in sorted(ranked, key=lambda item: item[0])[:TOP]]


def _errors(graded: list[Attempt]) -> list[str]:
    """Major errors, said to be wrong: the finding's text is the candidate's claim, not the truth."""
    return [
        f"{a.question_id}: Wrong: {e['text']}"
        for a in graded
        for e in a.grade.get("errors", [])  # type: ignore[union-attr]
        if e.get("severity") == "major"
    ]


def _missing(graded: list[Attempt]) -> list[str]:
    """Missed key points, heaviest first."""
    missing = [
        (kp["weight"], f"{a.question_id}: {kp['point']}")
        for a in graded
        for kp in a.grade.get("key_points", [])  # type: ignore[union-attr]
        if kp["verdict"] == "missing"
    ]
    return [text for _, text in sorted(missing, key=lambda e: -e[0])]


@dataclass(frozen=True)
class TopicStats:
    topic: str
    questions: int  # distinct questions graded
    mean: float  # of each question's latest score


@dataclass(frozen=True)
class Progress:
    """Everything practised so far: counts, per topic, and the weakest questions by latest score."""

    sessions: int
    answers: int
    graded: int
    unfinished: int  # pending or failed
    topics: list[TopicStats]
    weakest: list[tuple[str, float]]  # question id, latest score
    improved: list[tuple[str, float, float]]  # question id, first score, latest score

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def progress(store: Store) -> Progress:
    answers = store.scores()  # newest first
    graded = [a for a in answers if a.grade_status == "graded" and a.score is not None]
    latest: dict[str, Scored] = {}
    first: dict[str, Scored] = {}
    for a in graded:
        latest.setdefault(a.question_id, a)
        first[a.question_id] = a  # ends on the oldest
    by_topic: dict[str, list[float]] = {}
    for a in latest.values():
        by_topic.setdefault(a.topic, []).append(a.score or 0.0)
    topics = sorted(
        (TopicStats(t, len(v), _mean(v) or 0.0) for t, v in by_topic.items()), key=lambda t: (t.mean, t.topic)
    )
    weakest = sorted(((q, a.score or 0.0) for q, a in latest.items()), key=lambda item: (item[1], item[0]))
    improved = sorted(
        (
            (q, first[q].score or 0.0, a.score or 0.0)
            for q, a in latest.items()
            if first[q].answer_id != a.answer_id and (a.score or 0) > (first[q].score or 0)
        ),
        key=lambda item: item[1] - item[2],
    )
    return Progress(
        sessions=len({a.session_id for a in answers}),
        answers=len(answers),
        graded=len(graded),
        unfinished=sum(1 for a in answers if a.grade_status in {"pending", "failed"} and not a.skipped),
        topics=topics,
        weakest=weakest[: TOP + 2],
        improved=improved[: TOP + 2],
    )
