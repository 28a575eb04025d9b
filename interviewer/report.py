"""Session reports: one JSON document, rendered to Markdown or self-contained HTML by Jinja templates.

Everything a candidate or a bank wrote is escaped on the way out: HTML by autoescaping, Markdown by
a `finalize` hook that escapes every printed value unless a template marks it as already safe.
Control characters (ESC and its kin) are shown as visible stand-ins in Markdown and HTML, to a file
as on standard output: these are documents for people, and `cat report.md` must not let an answer
clear the screen. JSON keeps every text exact, its control characters escaped the JSON way.
Nothing secret is in the document to begin with: no key, no endpoint URL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interviewer.formats import SCHEMA_VERSION
from interviewer.reportview import CHART, view
from interviewer.store import Attempt, Store
from interviewer.summary import stored_limit, summarize
from interviewer.terminal import json_text, visible

FORMATS = ("md", "html", "json")
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _previous(store: Store, attempt: Attempt) -> dict[str, Any] | None:
    """What changed since the last graded attempt at the same question, if there was one."""
    if attempt.grade_status != "graded" or not attempt.grade:
        return None
    earlier = [
        a
        for a in store.attempts(question_id=attempt.question_id)
        if a.answer_id < attempt.answer_id and a.grade_status == "graded" and a.grade
    ]
    if not earlier:
        return None
    before = earlier[0]  # newest first
    verdicts = {kp["point"]: kp["verdict"] for kp in before.grade["key_points"]}  # type: ignore[index]
    now_points = attempt.grade["key_points"]
    return {
        "answer_id": before.answer_id,
        "session_id": before.session_id,
        "submitted_at": before.submitted_at,
        "score": before.score,
        "score_change": round((attempt.score or 0) - (before.score or 0), 1),
        "newly_covered": [
            kp["point"]
            for kp in now_points
            if kp["verdict"] == "covered" and verdicts.get(kp["point"]) != "covered"
        ],
        "still_missing": [
            kp["point"]
            for kp in now_points
            if kp["verdict"] == "missing" and verdicts.get(kp["point"]) == "missing"
        ],
    }


def build(store: Store, ref: str, current: dict[str, str] | None = None) -> dict[str, Any]:
    """The report of a session as a JSON-ready document (its fields are documented in the README).
    `current` holds the bank's content hash of each question, to say which answers were to a
    version of their question that has changed since, or that the bank no longer has."""
    row = store.session(ref)
    summary = summarize(store, row)
    attempts = {a.answer_id: a for a in store.attempts(session_id=row.id)}
    questions = []
    for result in summary.questions:
        attempt = attempts.get(result.answer_id) if result.answer_id else None
        snapshot = attempt.question if attempt else _planned(row.settings, result.question_id)
        grade = attempt.grade if attempt else None
        questions.append(
            {
                "number": result.number,
                "question_id": result.question_id,
                "topic": result.topic,
                "difficulty": snapshot.get("difficulty"),
                "prompt": result.prompt,
                "reference": snapshot.get("reference"),
                "note": snapshot.get("note"),
                "question_hash": snapshot.get("content_hash"),
                "question_version": _version(snapshot.get("content_hash"), result.question_id, current),
                "answer": attempt.text if attempt else None,
                "turns": _turns(attempt, result.prompt) if attempt else [],
                "status": result.status,
                "score": result.score,
                "time_used": result.seconds,
                "time_limit": result.limit,
                "timed_out": result.timed_out,
                "submitted_at": attempt.submitted_at if attempt else None,
                "grade": _grade_view(grade),
                "later_failure": _later_failure(attempt) if attempt else None,
                "previous": _previous(store, attempt) if attempt else None,
            }
        )
    used = sum(r.seconds for r in summary.questions if r.seconds is not None)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "session": {
            "id": row.id,
            "mode": row.mode,
            "status": row.status,
            "grader": summary.grader,
            "started_at": row.started_at,
            "ended_at": row.ended_at,
            "time_limit_per_question": stored_limit(row.settings.get("per_question")),
            "time_limit_total": stored_limit(row.settings.get("total")),
            "time_used": round(used, 1),
        },
        "total": summary.total,
        "topics": summary.topics,
        "counts": {
            status: sum(1 for q in questions if q["status"] == status)
            for status in ("graded", "failed", "pending", "skipped", "not reached")
        },
        "questions": questions,
        "strongest": summary.strongest,
        "gaps": summary.gaps,
        "next_steps": summary.next_steps,
    }


def _version(answered: str | None, question_id: str, current: dict[str, str] | None) -> str | None:
    """ "current", "older" (the bank's question has changed since) or "removed"; None if unknown."""
    if current is None or answered is None:
        return None
    if question_id not in current:
        return "removed"
    return "current" if current[question_id] == answered else "older"


def _turns(attempt: Attempt, prompt: str) -> list[dict[str, Any]]:
    """A question's turns: its prompt and the first answer, then each follow-up and its answer."""
    from interviewer.formats import elapsed

    first = {
        "prompt": prompt,
        "follow_up": False,
        "answer": attempt.text,
        "time_used": elapsed(attempt.started_at, attempt.submitted_at),
        "time_limit": stored_limit(attempt.time_limit),
        "timed_out": attempt.timed_out,
        "skipped": attempt.skipped,
    }
    return [first] + [
        {
            "prompt": t.prompt,
            "follow_up": True,
            "answer": t.text,
            "time_used": elapsed(t.started_at, t.submitted_at) if t.submitted_at else None,
            "time_limit": stored_limit(t.time_limit),
            "timed_out": t.timed_out,
            "skipped": t.skipped,
        }
        for t in attempt.follow_ups
    ]


def _planned(settings: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next((q for q in settings.get("questions", []) if q.get("id") == question_id), {})


def _grade_view(grade: dict[str, Any] | None) -> dict[str, Any] | None:
    if not grade:
        return None
    keep = (
        "status",
        "grader",
        "score",
        "key_points",
        "errors",
        "strengths",
        "improvements",
        "cap",
        "cap_reason",
        "injection_suspected",
        "notes",
        "failure",
        "usage",
        "latency_ms",
        "prompt_hash",
    )
    view = {k: grade.get(k) for k in keep}
    view["failure"] = without_endpoint(view["failure"])
    return view


def _later_failure(attempt: Attempt) -> dict[str, Any] | None:
    """A regrade that failed after the grade that stands: who tried, when, and why it failed."""
    failed = attempt.later_failure
    if failed is None or attempt.grade_status != "graded":
        return None
    return {"grader": failed.grader, "at": failed.created_at, "failure": without_endpoint(failed.failure)}


_URL = re.compile(r"https?://\S+?(?=[.,:;)]*(?:\s|$))")


def without_endpoint(reason: str | None) -> str | None:
    """A failure's reason with the endpoint's URL (the first URL in it, and any other on its host)
    said as "the endpoint": the reason is stored as shown on the terminal, a report is shared."""
    first = _URL.search(reason or "")
    if reason is None or first is None:
        return reason
    scheme, _, rest = first.group().partition("://")
    host = f"{scheme}://{rest.split('/', 1)[0]}"
    return _URL.sub(
        lambda m: "the endpoint" if m.group().split("/", 3)[:3] == host.split("/") else m.group(), reason
    )


# --- rendering ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])")


def md_escape(value: Any) -> Any:
    """Text safe in Markdown: every character Markdown or HTML could read as syntax is escaped."""
    from markupsafe import Markup

    if value is None or isinstance(value, Markup | int | float):
        return "" if value is None else value
    text = _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))
    return _MD_ORDERED.sub(r"\1\\\2", _MD_LINE_START.sub(r"\1\\\2", text))


def md_block(value: Any) -> Any:
    """A multi-line text as a fenced block, fenced longer than any backtick run inside it."""
    from markupsafe import Markup

    text = str(value or "")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markup(f"{fence}text\n{text}\n{fence}")


def _environment(fmt: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=fmt == "html",
        finalize=md_escape if fmt == "md" else None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(block=md_block)
    return env


def render(document: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json_text(document) + "\n"
    if fmt not in FORMATS:
        raise ValueError(fmt)
    template = _environment(fmt).get_template(f"report.{fmt}.j2")
    text = visible(str(template.render(v=view(document), chart=CHART)))
    return re.sub(r"\n{3,}", "\n\n", text) if fmt == "md" else text
