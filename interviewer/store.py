"""SQLite storage of sessions, answers and grades.

An answer is committed the moment it is submitted, before grading; a grade when it arrives. Each
answer keeps a snapshot of its question, so a report stays true when the bank changes later.
Grades are appended, never updated: the latest row per answer is its grade, and a failed attempt
stays on record with its reason.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from interviewer.errors import StoreError, UsageError

DB_NAME = "interviewer.db"

# Ordered migrations: entry i takes the schema from version i to i+1. Never edit a released one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        mode        TEXT NOT NULL CHECK (mode IN ('practice', 'mock')),
        status      TEXT NOT NULL CHECK (status IN ('active', 'completed', 'interrupted')),
        grader      TEXT NOT NULL,
        settings    TEXT NOT NULL DEFAULT '{}',
        started_at  TEXT NOT NULL,
        ended_at    TEXT
    );
    CREATE TABLE answers (
        id            INTEGER PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions(id),
        position      INTEGER NOT NULL,
        question_id   TEXT NOT NULL,
        question_hash TEXT NOT NULL,
        question      TEXT NOT NULL,  -- JSON snapshot of the question as asked
        text          TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        submitted_at  TEXT NOT NULL,
        time_limit    REAL,
        timed_out     INTEGER NOT NULL DEFAULT 0,
        skipped       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX answers_by_session ON answers(session_id, position);
    CREATE INDEX answers_by_question ON answers(question_id, submitted_at);
    CREATE TABLE grades (
        id         INTEGER PRIMARY KEY,
        answer_id  INTEGER NOT NULL REFERENCES answers(id),
        created_at TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('graded', 'failed')),
        grader     TEXT NOT NULL,
        score      REAL,
        failure    TEXT,
        grade      TEXT NOT NULL  -- the whole Grade as JSON
    );
    CREATE INDEX grades_by_answer ON grades(answer_id, id);
    """,
]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Attempt:
    """One stored answer with its latest grade, as `history` lists it."""

    answer_id: int
    session_id: str
    mode: str
    position: int
    question_id: str
    question: dict
    text: str
    started_at: str
    submitted_at: str
    time_limit: float | None
    timed_out: bool
    skipped: bool
    grade_status: str  # graded | failed | pending
    grader: str | None
    score: float | None
    grade: dict | None  # the latest Grade as JSON, if any


@dataclass(frozen=True)
class SessionRow:
    id: str
    mode: str
    status: str
    grader: str
    settings: dict
    started_at: str
    ended_at: str | None


_ATTEMPT_SELECT = """
    SELECT a.id, a.session_id, s.mode, a.position, a.question_id, a.question, a.text, a.started_at,
           a.submitted_at, a.time_limit, a.timed_out, a.skipped,
           g.status, g.grader, g.score, g.grade
    FROM answers a
    JOIN sessions s ON s.id = a.session_id
    LEFT JOIN grades g ON g.id = (SELECT max(id) FROM grades WHERE answer_id = a.id)
"""


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt(
        answer_id=row[0],
        session_id=row[1],
        mode=row[2],
        position=row[3],
        question_id=row[4],
        question=json.loads(row[5]),
        text=row[6],
        started_at=row[7],
        submitted_at=row[8],
        time_limit=row[9],
        timed_out=bool(row[10]),
        skipped=bool(row[11]),
        grade_status=row[12] or "pending",
        grader=row[13],
        score=row[14],
        grade=json.loads(row[15]) if row[15] else None,
    )


class Store:
    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = threading.RLock()
            self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            self._use_wal(timeout=10)
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc.strerror or exc}") from None

    @classmethod
    def open(cls, home: Path) -> Store:
        return cls(home / DB_NAME)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        # One connection serves the session and its background graders: one transaction at a time.
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _use_wal(self, timeout: float) -> None:
        """Switch the database to WAL (a no-op once done). When first runs switch a new database
        together, SQLite refuses the losers at once, without its busy wait: retry them here."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _schema_version(self) -> int:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the database {self.path} was written by a newer interviewer (schema {version}); upgrade"
            )
        return version

    def _migrate(self) -> None:
        if self._schema_version() == len(MIGRATIONS):
            return
        # First runs may race here: read the version again under the write lock, so the first one
        # migrates and the others find the work done.
        with self._tx() as db:
            version = self._schema_version()
            for script in MIGRATIONS[version:]:
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    # --- sessions -------------------------------------------------------------------------------

    def create_session(self, mode: str, grader: str, settings: dict | None = None) -> str:
        session_id = secrets.token_hex(4)
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions (id, mode, status, grader, settings, started_at) VALUES (?, ?, 'active', ?, ?, ?)",
                (session_id, mode, grader, json.dumps(settings or {}), now()),
            )
        return session_id

    def set_status(self, session_id: str, status: str, *, ended: bool = False) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET status = ?, ended_at = ? WHERE id = ?",
                (status, now() if ended else None, session_id),
            )

    def session(self, ref: str) -> SessionRow:
        """A session by id, unique id prefix, or `latest`."""
        if ref == "latest":
            rows = self._rows("SELECT * FROM sessions ORDER BY started_at DESC, rowid DESC LIMIT 1")
            if not rows:
                raise UsageError("there is no session yet")
        else:
            rows = self._rows(
                "SELECT * FROM sessions WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                (ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
            )
            if not rows:
                raise UsageError(f"no session {ref!r}; `interviewer history` lists them")
            if len(rows) > 1:
                raise UsageError(f"{ref!r} matches more than one session; give more of its id")
        r = rows[0]
        return SessionRow(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6])

    # --- answers and grades ---------------------------------------------------------------------

    def add_answer(
        self,
        session_id: str,
        question: dict,
        text: str,
        *,
        started_at: str,
        time_limit: float | None = None,
        timed_out: bool = False,
        skipped: bool = False,
    ) -> int:
        """Commit an answer (with its question snapshot) and return its id."""
        with self._tx() as db:
            position = db.execute(
                "SELECT coalesce(max(position), 0) + 1 FROM answers WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            cur = db.execute(
                """INSERT INTO answers (session_id, position, question_id, question_hash, question, text,
                                        started_at, submitted_at, time_limit, timed_out, skipped)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    session_id,
                    position,
                    question["id"],
                    question["content_hash"],
                    json.dumps(question, ensure_ascii=False),
                    text,
                    started_at,
                    now(),
                    time_limit,
                    int(timed_out),
                    int(skipped),
                ),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def add_grade(self, answer_id: int, grade: dict) -> None:
        """Append a grade (a `Grade` as JSON) for an answer."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO grades (answer_id, created_at, status, grader, score, failure, grade) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    now(),
                    grade["status"],
                    grade["grader"],
                    grade.get("score"),
                    grade.get("failure"),
                    json.dumps(grade, ensure_ascii=False),
                ),
            )

    def attempt(self, answer_id: int) -> Attempt:
        rows = self._rows(_ATTEMPT_SELECT + " WHERE a.id = ?", (answer_id,))
        if not rows:
            raise UsageError(f"no answer {answer_id}")
        return _attempt(rows[0])

    def attempts(
        self,
        *,
        session_id: str | None = None,
        question_id: str | None = None,
        limit: int | None = None,
    ) -> list[Attempt]:
        """Stored answers with their latest grades: a session's in order, otherwise newest first."""
        where, args = [], []
        if session_id:
            where.append("a.session_id = ?")
            args.append(session_id)
        if question_id:
            where.append("a.question_id = ?")
            args.append(question_id)
        sql = _ATTEMPT_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY a.position" if session_id else " ORDER BY a.submitted_at DESC, a.id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_attempt(r) for r in self._rows(sql, args)]
