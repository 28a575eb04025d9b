"""The schedule in the terminal and in JSON: why a question was picked, what is due, the plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from interviewer.schedule import Pick, Plan, Schedule, TopicRetention
from interviewer.ui import plain

SPARKS = "▁▂▃▄▅▆▇█"
BAR = 20  # cells of a retention bar


def when(at: datetime, now: datetime) -> str:
    """A due time in the candidate's days: "today", "2 days ago", "tomorrow", "in 5 days (2026-12-07)"."""
    days = (at.astimezone().date() - now.astimezone().date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    if days < 0:
        return f"{-days} days ago"
    return f"in {days} days ({at.astimezone().date().isoformat()})"


def pick_note(pick: Pick, now: datetime) -> str:
    """Why `practice --due` asks this question, in one line."""
    state = pick.state
    due = state.due
    assert due is not None  # a pick of the schedule was answered before
    points = sum(1 for p in state.points if p.card is None or p.card.due <= due)
    if pick.why == "due":
        since = "due " + when(due, now) if due <= now else "due later today"
        return f"Due: {pick.question.id}, {points} of its {len(state.points)} key points {since}."
    return f"Nothing is due today: {pick.question.id} is due soonest, {when(due, now)}."


WHY_WORDS = {"due": "due", "weak": "weakest", "unseen": "unseen", "retained": "retained"}


def interview_note(picks: Sequence[Pick]) -> str:
    counts = Counter(p.why for p in picks)
    parts = [f"{counts[why]} {word}" for why, word in WHY_WORDS.items() if counts[why]]
    return "Chosen by your schedule: " + ", ".join(parts) + "."


def pick_reason(pick: Pick, now: datetime) -> str:
    due = pick.state.due
    if pick.why == "due" and due is not None:
        return "due " + when(due, now) if due <= now else "due later today"
    if pick.why == "weak":
        return "a key point never right or forgotten"
    if pick.why == "retained" and due is not None:
        return "retained, due " + when(due, now)
    return "never answered"


def sparkline(counts: Sequence[int]) -> str:
    top = max(counts, default=0)
    if not top:
        return SPARKS[0] * len(counts)
    return "".join(SPARKS[round(c / top * (len(SPARKS) - 1))] for c in counts)


def _bar(share: float) -> Text:
    filled = round(share * BAR)
    return Text.assemble(("█" * filled, "green"), ("░" * (BAR - filled), "dim"))


def topics_table(topics: Sequence[TopicRetention], retention: float, *, behind: bool = False) -> Table:
    """Per topic, a bar of the key points retained; with `behind`, topics short of the retention
    aimed at are marked."""
    table = Table(
        header_style="bold",
        title=f"Key points retained now, per topic (recalled with {retention:.0%} chance or more)",
        title_justify="left",
    )
    table.add_column("topic")
    table.add_column("retained", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    table.add_column("never right", justify="right")
    if behind:
        table.add_column("")
    for t in topics:
        mark = [Text("behind", style="red") if t.share < retention else Text("")] if behind else []
        table.add_row(plain(t.topic), _bar(t.share), f"{t.retained}/{t.points}", str(t.never_right), *mark)
    return table


# --- stats -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outlook:
    """What `stats` shows of the schedule."""

    retention: float
    due_today: int
    due_this_week: int
    forecast: list[int]  # questions falling due per day, today first (overdue ones count today)
    topics: list[TopicRetention]
    stale_answers: int  # answers to an older version of their question
    removed: int  # questions answered that the bank no longer has
    interview: date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "retention": self.retention,
            "due_today": self.due_today,
            "due_this_week": self.due_this_week,
            "forecast": self.forecast,
            "topics": [topic_json(t) for t in self.topics],
            "stale_answers": self.stale_answers,
            "removed_questions": self.removed,
            "interview_date": self.interview.isoformat() if self.interview else None,
        }


def topic_json(t: TopicRetention) -> dict[str, Any]:
    return {
        "topic": t.topic,
        "questions": t.questions,
        "key_points": t.points,
        "retained": t.retained,
        "never_right": t.never_right,
        "share_retained": round(t.share, 3),
    }


def outlook(
    schedule: Schedule, questions: Sequence[Any], stale: int, removed: int, interview: date | None
) -> Outlook:
    forecast = schedule.forecast(questions)
    return Outlook(
        retention=schedule.retention,
        due_today=forecast[0],
        due_this_week=sum(forecast[:7]),
        forecast=forecast,
        topics=schedule.topics(questions),
        stale_answers=stale,
        removed=removed,
        interview=interview,
    )


def outlook_view(o: Outlook, today: date) -> Group:
    parts: list[Any] = [Text("\nSchedule", style="bold underline")]
    line = Text.assemble(
        "Due today: ",
        (f"{o.due_today} question{'s' if o.due_today != 1 else ''}", "bold"),
        " · this week: ",
        (str(o.due_this_week), "bold"),
    )
    if o.interview:
        line.append(f" · interview in {(o.interview - today).days} days ({o.interview.isoformat()})")
    parts.append(line)
    parts.append(
        Text.assemble(
            f"Next {len(o.forecast)} days: ",
            (sparkline(o.forecast), "cyan"),
            "  ",
            plain(" ".join(str(c) for c in o.forecast), "dim"),
        )
    )
    parts.append(topics_table(o.topics, o.retention))
    if o.stale_answers:
        parts.append(
            plain(
                f"{o.stale_answers} answer{'s were' if o.stale_answers != 1 else ' was'} to an older version of "
                "its question: weaker evidence, rated no better than hard.",
                "yellow",
            )
        )
    if o.removed:
        parts.append(
            plain(
                f"{o.removed} question{'s' if o.removed != 1 else ''} you answered are no longer in the bank: "
                "kept in history, never scheduled.",
                "dim",
            )
        )
    parts.append(
        plain("Practise what is due: interviewer practice --due · a plan toward a date: interviewer plan")
    )
    return Group(*parts)


# --- the plan --------------------------------------------------------------------------------------


def plan_json(plan: Plan, now: datetime) -> dict[str, Any]:
    return {
        "until": plan.until.isoformat() if plan.until else None,
        "days": plan.days if plan.until else None,
        "retention": plan.retention,
        "per_day": plan.per_day,
        "needed_per_day": plan.needed,
        "ready_on": plan.ready_on.isoformat() if plan.ready_on else None,
        "key_points": plan.points,
        "short_on_the_day": plan.short if plan.until else None,
        "topics": [{**topic_json(t), "behind": t.share < plan.retention} for t in plan.topics],
        "today": [_pick_json(p, now) for p in plan.today],
        "load": plan.load,
    }


def _pick_json(pick: Pick, now: datetime) -> dict[str, Any]:
    due = pick.state.due
    return {
        "question_id": pick.question.id,
        "topic": pick.question.topic,
        "why": pick.why,
        "due": due.isoformat() if due else None,
        "reason": pick_reason(pick, now),
    }


def plan_view(plan: Plan, now: datetime) -> Group:
    parts: list[Any] = []
    if plan.until:
        head = f"Interview on {plan.until.isoformat()}, "
        head += "today." if plan.days == 0 else f"in {plan.days} day{'s' if plan.days != 1 else ''}."
        parts.append(Text(head, style="bold"))
        if plan.needed is None:
            parts.append(
                plain(
                    f"No pace gets every key point ready by then: {plan.short} of {plan.points} will not be. "
                    "Practise what is due and what you never got right first.",
                    "yellow",
                )
            )
        elif plan.per_day == plan.needed:
            parts.append(
                Text.assemble(
                    "To be ready: ",
                    (f"{plan.needed} questions a day", "bold green"),
                    ", every day until then.",
                )
            )
        elif plan.short:
            parts.append(
                plain(
                    f"At {plan.per_day} a day, {plan.short} of {plan.points} key points would not be ready on the "
                    f"day: practise {plan.needed} a day.",
                    "yellow",
                )
            )
        else:
            parts.append(plain(f"At {plan.per_day} a day you are ready ({plan.needed} a day would do)."))
    else:
        parts.append(
            Text(
                "No interview date set: `interviewer plan --until YYYY-MM-DD` plans toward one.", style="bold"
            )
        )
    if plan.ready_on and plan.ready_on <= now.astimezone().date():
        parts.append(
            plain(
                f"Every key point has been answered right at least once: now keep them at {plan.retention:.0%} recall."
            )
        )
    elif plan.ready_on:
        parts.append(
            plain(
                f"At {plan.per_day} a day every key point is answered right at least once by "
                f"{plan.ready_on.isoformat()}, then kept at {plan.retention:.0%} recall."
            )
        )
    elif plan.until is None:
        parts.append(plain(f"At {plan.per_day} a day not every key point is answered right within a year."))
    if plan.load:
        parts.append(
            Text.assemble(
                f"Questions a day, next {len(plan.load)} days: ",
                (sparkline(plan.load), "cyan"),
                "  ",
                plain(" ".join(map(str, plan.load)), "dim"),
            )
        )
    parts.append(topics_table(plan.topics, plan.retention, behind=True))
    if plan.today:
        parts.append(
            Text(
                f"Today's session ({len(plan.today)} question{'s' if len(plan.today) != 1 else ''})",
                style="bold underline",
            )
        )
        for number, pick in enumerate(plan.today, 1):
            parts.append(
                Text.assemble(
                    f"{number:>3}. ", plain(pick.question.id), ("  " + pick_reason(pick, now), "dim")
                )
            )
        parts.append(
            plain(
                f"Start it: interviewer mock --due -n {len(plan.today)} (or one at a time: interviewer practice --due)"
            )
        )
    parts.append(
        plain(
            "The plan assumes every question practised is then answered right; it is worked out again from "
            "your grades each time you ask.",
            "dim",
        )
    )
    return Group(*parts)


# --- review ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewed:
    """An answer of a session as the schedule counts it."""

    number: int  # as `show` numbers it
    question_id: str
    answer_id: int
    status: str  # graded | failed | pending | skipped
    score: float | None
    counts: bool  # whether it is a review at all
    why_not: str | None  # why it is not
    ratings: dict[str, str]  # key point -> rating, as it counts now
    own: str | None  # the candidate's own rating
    version: str  # current | older | removed
    next_due: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "question_id": self.question_id,
            "answer_id": self.answer_id,
            "status": self.status,
            "score": self.score,
            "counts": self.counts,
            "why_not": self.why_not,
            "ratings": self.ratings,
            "own_rating": self.own,
            "question_version": self.version,
            "next_due": self.next_due.isoformat() if self.next_due else None,
        }


def counts_text(r: Reviewed) -> Text:
    if not r.counts:
        return plain(r.why_not or "", "dim")
    if r.own:
        return Text.assemble((r.own, "bold"), (" (yours)", "dim"))
    tally = Counter(r.ratings.values())
    shown = " ".join(f"{tally[name]} {name}" for name in ("easy", "good", "hard", "again") if tally[name])
    return Text.assemble(shown, (" (the grade's)", "dim"))


def review_table(rows: Sequence[Reviewed], now: datetime) -> Table:
    from interviewer.ui import score_text

    table = Table(header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("question", overflow="fold", ratio=1)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("counts as")
    table.add_column("next due", no_wrap=True)
    for r in rows:
        qid = r.question_id + {"older": " (older version)", "removed": " (no longer in the bank)"}.get(
            r.version, ""
        )
        table.add_row(
            str(r.number),
            plain(qid),
            Text("skipped", style="dim") if r.status == "skipped" else score_text(r.score, r.status),
            counts_text(r),
            when(r.next_due, now) if r.next_due else "",
        )
    return table
