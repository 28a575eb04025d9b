"""Answers the database could not take, kept in a file until it can.

When storing an answer fails (a full disk, a database locked for too long, a damaged file), the
answer is written to a JSON file in the home's `recovery` folder, or in the system's temporary
folder when the home cannot be written either; `interviewer recover` stores it later.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interviewer.errors import StoreError, UsageError
from interviewer.store import Store

FOLDER = "recovery"
FORMAT = "interviewer-recovery/1"


@dataclass(frozen=True)
class Unsaved:
    """An answer the database refused, with what is needed to store it later."""

    mode: str  # practice | mock: the kind of session to store it in when its own is gone
    grader: str
    session_id: str | None  # None when even the session could not be created
    question: dict[str, Any]  # the question's snapshot, as `Store.add_answer` takes it
    text: str
    started_at: str
    submitted_at: str
    time_limit: float | None = None
    timed_out: bool = False
    skipped: bool = False


class AnswerNotStored(StoreError):
    """The database refused answers; they are kept in `path` (None: no file could be written, so
    they went to standard error)."""

    def __init__(self, cause: StoreError, path: Path | None, count: int, *, in_home: bool = True):
        what = "your answer" if count == 1 else f"your {count} answers"
        if path is None:
            kept = f"nor write {what} to a recovery file: {what} is printed above; copy it"
        else:
            command = "interviewer recover" if in_home else f"interviewer recover {path}"
            kept = f"{what} is kept in {path}; `{command}` stores it once the database works again"
        super().__init__(f"could not save {what}: {cause}\n{kept}")
        self.path = path


def folder(home: Path) -> Path:
    return home / FOLDER


def keep(home: Path, answers: list[Unsaved], cause: StoreError) -> AnswerNotStored:
    """Write answers the database refused to a recovery file; return the error to raise, naming it."""
    name = f"answer-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}.json"
    for place in (folder(home), Path(tempfile.gettempdir()) / "interviewer-recovery"):
        try:
            place.mkdir(parents=True, exist_ok=True)
            _write(place / name, answers)
        except OSError:
            continue
        return AnswerNotStored(cause, place / name, len(answers), in_home=place == folder(home))
    for answer in answers:  # the last place left that keeps what was typed
        print(f"--- your answer to {answer.question.get('id')} ---\n{answer.text}", file=sys.stderr)
    return AnswerNotStored(cause, None, len(answers))


def _write(path: Path, answers: list[Unsaved]) -> None:
    """Write atomically: a half-written file on a full disk must not replace a whole one."""
    data = json.dumps({"format": FORMAT, "answers": [asdict(a) for a in answers]}, ensure_ascii=False)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load(path: Path) -> list[Unsaved]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError
        return [Unsaved(**answer) for answer in data["answers"]]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        raise UsageError(f"{path}: not an interviewer recovery file") from None


def restore(store: Store, path: Path) -> list[str]:
    """Store the answers of a recovery file (ungraded), then delete it; return their sessions.

    An answer goes back to its session; answers whose session is not in the database get a new one.
    """
    answers = load(path)
    sessions: dict[str | None, str] = {}
    for done, answer in enumerate(answers):
        try:
            if answer.session_id not in sessions:
                sessions[answer.session_id] = _session_for(store, answer, answers)
            store.add_answer(
                sessions[answer.session_id],
                answer.question,
                answer.text,
                started_at=answer.started_at,
                submitted_at=answer.submitted_at,
                time_limit=answer.time_limit,
                timed_out=answer.timed_out,
                skipped=answer.skipped,
            )
        except StoreError:
            _write(path, answers[done:])  # what is stored now must not be stored twice by a retry
            raise
    path.unlink()
    return list(dict.fromkeys(sessions.values()))


def _session_for(store: Store, answer: Unsaved, answers: list[Unsaved]) -> str:
    if answer.session_id and store.has_session(answer.session_id):
        return answer.session_id
    questions = [a.question for a in answers if a.session_id == answer.session_id]
    settings = {"questions": questions} if answer.mode == "mock" else {"question": questions[0]["id"]}
    session_id = store.create_session(answer.mode, answer.grader, settings)
    store.set_status(session_id, "interrupted", ended=True)
    return session_id
