"""What a report says, worked out once in Python from the JSON document: every label, time, score,
colour band and sentence. The Markdown and HTML templates only lay it out, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from interviewer.formats import MARKS, VERDICT_BANDS, band, clock, grader_words
from interviewer.formats import score as _score

HEADLINES = {
    "failed": "Not graded: grading failed",
    "pending": "Not graded yet (pending)",
    "skipped": "Skipped",
    "not reached": "Not reached",
}


@dataclass(frozen=True)
class PointView:
    mark: str  # ✓ ◐ ✗
    verdict: str  # covered | partial | missing
    band: str  # the verdict's colour
    point: str
    evidence: str | None
    why: str | None
    recovered: bool = False  # said only after a follow-up


@dataclass(frozen=True)
class FollowUpView:
    """A follow-up the interviewer asked, and the answer to it."""

    prompt: str
    answer: str | None  # None: asked, not answered (the interview stopped there)
    outcome: str  # "time 0:40 of 5:00", "skipped", "not answered", with "(timed out)"


@dataclass(frozen=True)
class ErrorView:
    text: str
    severity: str
    why: str | None


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, its length as a share of the scale (0-1), and its value."""

    label: str
    share: float | None  # None: no score (pending, failed, not reached)
    value: str  # the score, or the status when there is none
    band: str | None


@dataclass(frozen=True)
class ChartLayout:
    """The HTML charts' geometry, in SVG units. Each label sits above its bar across the full width,
    and the chart grows to `max_px` at most: its text is about 12 px on a 390 px phone and 16 px on a
    desktop (labels beside the bars, in a chart as wide as the page, were 6 px on a phone and 30 on a
    desktop)."""

    width: int = 400
    margin: int = 8  # either side, for the half of the axis' "0" and "10" outside the bars
    bar: int = 340  # the length of a 10/10 bar; the rest holds the value
    row: int = 44  # a label line and its bar
    font: int = 14
    max_px: int = 480
    label_chars: int = 52


CHART = ChartLayout()


@dataclass(frozen=True)
class QuestionView:
    number: int
    question_id: str
    topic: str
    prompt: str
    facts: str  # topic · difficulty · time, under the prompt
    time: str  # time used / limit, for the table
    score: str  # the score as a number, a dash when there is none
    band: str | None  # the score's colour; None without a score
    status: str  # graded | failed | pending | skipped | not reached
    status_label: str  # the status as a table shows it, e.g. "skipped, timed out"
    headline: str  # "Score 7.5/10", "Skipped", "Not graded: grading failed"
    detail: str | None  # what the headline leaves out: a cap, a failure's reason, "counts as 0"
    notes: list[str]
    answer: str | None
    follow_ups: list[FollowUpView]
    points: list[PointView]
    errors: list[ErrorView]
    strengths: list[str]
    improvements: list[str]
    since_last: str | None  # what changed since the last graded attempt at the question
    reference: str | None
    note: str | None
    version: str | None = None  # said when the bank's question has changed since, or is gone


VERSION_NOTES = {
    "older": "The question has changed in the bank since this answer: its grade is against the older "
    "version, and counts as weaker evidence for the schedule.",
    "removed": "The question is no longer in the bank: shown as it was asked, and never scheduled.",
}


@dataclass(frozen=True)
class ReportView:
    title: str  # "mock session 20260101-…"
    session_id: str
    mode: str
    status: str
    date: str  # "2026-01-01 12:00 UTC"
    grader: str  # who graded, for a sentence
    time_used: str
    total: str | None  # None when nothing is graded yet
    total_band: str | None
    unfinished: str | None  # how many grades failed and are pending, when any are
    topics: list[Bar]
    questions: list[QuestionView]
    question_bars: list[Bar]
    strongest: list[str]
    gaps: list[str]
    next_steps: list[str]
    generated: str


def score(value: float | None) -> str:
    """A score we format ourselves, safe as it is (Markup): Markdown escaping would read the "0." of
    a cell holding "0.3" as an ordered list and print "0\\.3"."""
    return Markup(_score(value))


def view(document: dict[str, Any]) -> ReportView:
    """The view of a report document as `report.build` makes it."""
    s = document["session"]
    questions = [_question(q) for q in document["questions"]]
    return ReportView(
        title=f"{s['mode']} session {s['id']}",
        session_id=s["id"],
        mode=s["mode"],
        status=s["status"],
        date=_when(s["started_at"]),
        grader=grader_words(s["grader"]),
        time_used=_time_used(s),
        total=None if document["total"] is None else score(document["total"]),
        total_band=None if document["total"] is None else band(document["total"]),
        unfinished=_unfinished(document["counts"]),
        topics=[
            Bar(topic, value / 10, score(value), band(value)) for topic, value in document["topics"].items()
        ],
        questions=questions,
        question_bars=[_bar(q) for q in document["questions"]],
        strongest=document["strongest"],
        gaps=document["gaps"],
        next_steps=document["next_steps"],
        generated=_when(document["generated_at"]),
    )


def _when(timestamp: str) -> str:
    return f"{timestamp[:16].replace('T', ' ')} UTC"


def _time_used(s: dict[str, Any]) -> str:
    text = clock(s["time_used"])
    if s["time_limit_total"]:
        text += f" of {clock(s['time_limit_total'])}"
    if s["time_limit_per_question"]:
        text += f" (limit {clock(s['time_limit_per_question'])} a question)"
    return text


def _unfinished(counts: dict[str, int]) -> str | None:
    if not counts["failed"] and not counts["pending"]:
        return None
    return f"{counts['failed']} failed, {counts['pending']} pending"


def _question(q: dict[str, Any]) -> QuestionView:
    grade = q["grade"] or {}
    return QuestionView(
        number=q["number"],
        question_id=q["question_id"],
        topic=q["topic"],
        prompt=q["prompt"],
        facts=_facts(q),
        time=clock(q["time_used"]) + (f" / {clock(q['time_limit'])}" if q["time_limit"] else ""),
        score=score(q["score"]),  # a number only when graded, 0 when skipped
        band=band(q["score"]) if q["status"] == "graded" else None,  # a skip's 0 is no weak answer
        status=q["status"],
        status_label=q["status"] + (", timed out" if q["timed_out"] else ""),
        headline=f"Score {score(q['score'])}/10" if q["status"] == "graded" else HEADLINES[q["status"]],
        detail=_detail(q, grade),
        notes=(grade.get("notes") or []) if q["status"] == "graded" else [],
        answer=q["answer"],
        follow_ups=[_follow_up(t) for t in q["turns"] if t["follow_up"]],
        points=[_point(kp) for kp in grade.get("key_points") or []],
        errors=[ErrorView(e["text"], e["severity"], e.get("why")) for e in grade.get("errors") or []],
        # The offline grader's strengths repeat its checklist of covered points.
        strengths=(grade.get("strengths") or []) if grade.get("grader") != "offline" else [],
        improvements=grade.get("improvements") or [],
        since_last=_since_last(q["previous"]),
        reference=q["reference"],
        note=q["note"],
        version=VERSION_NOTES.get(q.get("question_version") or ""),
    )


def _facts(q: dict[str, Any]) -> str:
    parts = [q["topic"], *([q["difficulty"]] if q["difficulty"] else [])]
    time = f"time {clock(q['time_used'])}"
    if q["time_limit"]:
        time += f" of {clock(q['time_limit'])}"
    if q["timed_out"]:
        time += " (timed out)"
    return " · ".join([*parts, time])


def _detail(q: dict[str, Any], grade: dict[str, Any]) -> str | None:
    if q["status"] == "graded":
        said = []
        if grade.get("cap_reason"):
            said.append(f"Held to {score(grade['cap'])}: {grade['cap_reason']}")
        failed = q.get("later_failure")
        if failed:
            reason = (failed["failure"] or "no reason given").rstrip()
            stop = "" if reason.endswith((".", "?", "!")) else "."
            said.append(
                f"A later grading ({failed['grader']}, {_when(failed['at'])}) failed: {reason}{stop} "
                "This grade stands."
            )
        return " ".join(said) or None
    if q["status"] == "failed":
        return grade.get("failure")
    if q["status"] == "skipped":
        return "Counts as 0."
    return None


def _point(kp: dict[str, Any]) -> PointView:
    verdict = kp["verdict"]
    return PointView(
        MARKS[verdict],
        verdict,
        VERDICT_BANDS[verdict],
        kp["point"],
        kp.get("evidence"),
        kp.get("why"),
        bool(kp.get("recovered")),
    )


def _follow_up(turn: dict[str, Any]) -> FollowUpView:
    if turn["answer"] is None:
        outcome = "not answered"
    elif turn["skipped"]:
        outcome = "skipped"
    else:
        outcome = f"time {clock(turn['time_used'])}"
        if turn["time_limit"]:
            outcome += f" of {clock(turn['time_limit'])}"
    if turn["timed_out"]:
        outcome += " (timed out)"
    return FollowUpView(turn["prompt"], turn["answer"], outcome)


def _since_last(previous: dict[str, Any] | None) -> str | None:
    """ "(2026-01-01, 4/10): score +2.5. Newly covered: …. Still missing: …." as one text."""
    if not previous:
        return None
    change = previous["score_change"]
    sentences = [
        f"({previous['submitted_at'][:10]}, {score(previous['score'])}/10): "
        f"score {'+' if change >= 0 else ''}{score(change)}."
    ]
    if previous["newly_covered"]:
        sentences.append(f"Newly covered: {'; '.join(previous['newly_covered'])}.")
    if previous["still_missing"]:
        sentences.append(f"Still missing: {'; '.join(previous['still_missing'])}.")
    return " ".join(sentences)


def _bar(q: dict[str, Any]) -> Bar:
    label = f"{q['number']}. {q['question_id']}"
    if q["status"] != "graded":
        return Bar(label, None, q["status"], None)
    return Bar(label, q["score"] / 10, score(q["score"]), band(q["score"]))
