"""SQLite storage of sessions, answers and grades.

An answer is committed the moment it is submitted, before grading; a grade when it arrives. Each
answer keeps a snapshot of its question, so a report stays true when the bank changes later.
Grades are appended, never updated: an answer's grade is its latest successful row (its latest row
when none succeeded), so a regrade that fails never hides a good grade; the failure stays on record
with its reason, and is told beside the grade that stands.
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
DEFAULT_TIMEOUT = 10.0  # seconds to wait for another process's write to finish

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
    # Follow-up turns: an answer row holds a question's first turn; these hold the follow-ups asked
    # after it (`number` 2, 3, ...). `text` and `submitted_at` stay NULL while one is asked, unanswered.
    """
    CREATE TABLE turns (
        id            INTEGER PRIMARY KEY,
        answer_id     INTEGER NOT NULL REFERENCES answers(id),
        number        INTEGER NOT NULL,
        prompt        TEXT NOT NULL,
        text          TEXT,
        started_at    TEXT NOT NULL,
        submitted_at  TEXT,
        time_limit    REAL,
        timed_out     INTEGER NOT NULL DEFAULT 0,
        skipped       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (answer_id, number)
    );
    """,
    # Spaced practice: the candidate's own rating of an answer, overriding the one its grade gives
    # (appended; the latest row per answer holds, and a NULL rating gives the grade's own back), and
    # what they told the planner (the interview date, the retention to aim for).
    """
    CREATE TABLE ratings (
        id          INTEGER PRIMARY KEY,
        answer_id   INTEGER NOT NULL REFERENCES answers(id),
        rating      TEXT CHECK (rating IN ('again', 'hard', 'good', 'easy')),
        created_at  TEXT NOT NULL
    );
    CREATE INDEX ratings_by_answer ON ratings(answer_id, id);
    CREATE TABLE preferences (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    """,
]


def _schema() -> dict[str, list[str]]:
    """Each table of the schema with the statements that make it (its indexes included), in order."""
    import re

    tables: dict[str, list[str]] = {}
    for script in MIGRATIONS:
        for statement in filter(str.strip, script.split(";")):
            made = re.search(r"CREATE\s+(?:TABLE\s+(\w+)|INDEX\s+\w+\s+ON\s+(\w+))", statement)
            if made:
                tables.setdefault(made.group(1) or made.group(2), []).append(statement)
    return tables


SCHEMA = _schema()
# Tables whose rows nothing else refers to: when one has gone from a database of ours (dropped by
# hand, or by another tool), it is made again, empty, and the rest of the file serves as it was.
# Without `sessions` or `answers` the rest cannot be read, and a new `answers` table would give its
# new rows the ids of answers whose grades are still there: those are refused, never remade.
REMADE_WHEN_MISSING = ("grades", "turns", "ratings", "preferences")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FollowUpTurn:
    """A follow-up asked after an answer: its prompt, and the answer (None while unanswered)."""

    turn_id: int
    number: int  # the question's turn: 2 for the first follow-up
    prompt: str
    text: str | None
    started_at: str
    submitted_at: str | None
    time_limit: float | None
    timed_out: bool
    skipped: bool

    @property
    def answered(self) -> bool:
        return self.submitted_at is not None


@dataclass(frozen=True)
class LaterFailure:
    """A grading that failed after an answer had a good grade (a regrade against an endpoint that was
    down): the good grade stands, and this says what became of the later attempt."""

    grader: str
    failure: str | None
    created_at: str


@dataclass(frozen=True)
class Attempt:
    """One stored answer with the grade that stands, as `history` lists it."""

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
    grade: dict | None  # the Grade that stands as JSON, if any (see `later_failure`)
    follow_ups: tuple[FollowUpTurn, ...] = ()
    later_failure: LaterFailure | None = None  # a regrade that failed after the grade that stands

    @property
    def follow_up_answers(self) -> list[str]:
        """The answers given to its follow-ups, in order (an unanswered one gives none)."""
        return [t.text for t in self.follow_ups if t.text]

    @property
    def open_follow_up(self) -> FollowUpTurn | None:
        """The follow-up asked and not answered yet (the interview stopped during it), if any."""
        return next((t for t in self.follow_ups if not t.answered), None)


@dataclass(frozen=True)
class SessionRow:
    id: str
    mode: str
    status: str
    grader: str
    settings: dict
    started_at: str
    ended_at: str | None


# The grade that stands for answer `a`: its latest successful one, else its latest (a failure, or
# none). A failed regrade never hides a good grade.
_STANDING_GRADE = """coalesce(
    (SELECT max(id) FROM grades WHERE answer_id = a.id AND status = 'graded'),
    (SELECT max(id) FROM grades WHERE answer_id = a.id))"""

_ATTEMPT_SELECT = f"""
    SELECT a.id, a.session_id, s.mode, a.position, a.question_id, a.question, a.text, a.started_at,
           a.submitted_at, a.time_limit, a.timed_out, a.skipped,
           g.status, g.grader, g.score, g.grade, f.grader, f.failure, f.created_at
    FROM answers a
    JOIN sessions s ON s.id = a.session_id
    LEFT JOIN grades g ON g.id = {_STANDING_GRADE}
    LEFT JOIN grades f ON f.id = (SELECT max(id) FROM grades WHERE answer_id = a.id)
                      AND f.status = 'failed' AND f.id <> g.id
"""


class _DamagedRow(Exception):
    """A stored JSON column that does not decode to an object."""


# What every reader of a question snapshot relies on.
_SNAPSHOT_KEYS = ("id", "topic", "prompt", "reference")


def _object(text: str, keys: Sequence[str] = ()) -> dict:
    """A JSON column as the object it must be, with `keys` in it."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        raise _DamagedRow("a stored row holds invalid JSON") from None
    if not isinstance(value, dict) or not all(key in value for key in keys):
        raise _DamagedRow("a stored row holds JSON of the wrong shape")
    return value


def _attempt(row: sqlite3.Row, follow_ups: Sequence[FollowUpTurn] = ()) -> Attempt:
    return Attempt(
        answer_id=row[0],
        session_id=row[1],
        mode=row[2],
        position=row[3],
        question_id=row[4],
        question=_object(row[5], _SNAPSHOT_KEYS),
        text=row[6],
        started_at=row[7],
        submitted_at=row[8],
        time_limit=row[9],
        timed_out=bool(row[10]),
        skipped=bool(row[11]),
        grade_status=row[12] or "pending",
        grader=row[13],
        score=row[14],
        grade=_object(row[15]) if row[15] else None,
        follow_ups=tuple(follow_ups),
        later_failure=LaterFailure(row[16], row[17], row[18]) if row[16] is not None else None,
    )


_TURN_SELECT = """
    SELECT t.answer_id, t.id, t.number, t.prompt, t.text, t.started_at, t.submitted_at, t.time_limit,
           t.timed_out, t.skipped
    FROM turns t JOIN answers a ON a.id = t.answer_id
"""


def _turn(row: sqlite3.Row) -> FollowUpTurn:
    return FollowUpTurn(row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]), bool(row[9]))


def _code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of an error (its extended code narrows it down further)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


class Store:
    """The database. `read_only` opens it without writing anything (not even the WAL index), for
    commands that only read: they work in a home the user cannot write to."""

    def __init__(self, path: Path, *, timeout: float = DEFAULT_TIMEOUT, read_only: bool = False):
        self.path, self.timeout = path, timeout
        self._lock = threading.RLock()
        if path.is_dir():  # SQLite says only "disk I/O error" or "unable to open database file"
            raise StoreError(
                f"{path} is a folder, not a database file. Move it aside and a new database is made in its "
                "place, or set INTERVIEWER_HOME to another folder"
            )
        try:
            if not (read_only and self._open_for_reading()):
                self._open_for_writing()
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc.strerror or exc}") from None

    @classmethod
    def open(cls, home: Path, *, timeout: float = DEFAULT_TIMEOUT, read_only: bool = False) -> Store:
        return cls(home / DB_NAME, timeout=timeout, read_only=read_only)

    def _open_for_writing(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect(self.path)
        if self._schema_version() == 0:
            self._refuse_foreign()  # before anything is written to another program's file
        self._use_wal()
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _open_for_reading(self) -> bool:
        """Open without writing; False when the database needs migrating first (that writes)."""
        if not self.path.exists():
            # Nothing stored yet: read an empty database in memory rather than create a file.
            self._db = self._connect(":memory:")
            self._migrate()
            return True
        self._db = self._connect(f"{self.path.resolve().as_uri()}?mode=ro")
        try:
            version = self._schema_version()
        except sqlite3.OperationalError as exc:
            # A folder we cannot write to, where the WAL index does not exist and cannot be made.
            # Without a write-ahead log beside it, the file alone holds every committed row.
            wal = self.path.with_name(self.path.name + "-wal")
            if _code(exc) not in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN) or wal.exists():
                raise
            self._db.close()
            self._db = self._connect(f"{self.path.resolve().as_uri()}?immutable=1")
            version = self._schema_version()
        if version == len(MIGRATIONS) and not self._missing_tables():
            return True
        if version == 0:
            self._refuse_foreign()
        self._db.close()
        return False  # migrated, or its missing tables made, by opening it for writing

    def _connect(self, target: Path | str) -> sqlite3.Connection:
        return sqlite3.connect(
            target,
            timeout=self.timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=str(target).startswith("file:"),
        )

    def _failure(self, exc: sqlite3.Error) -> StoreError:
        """What went wrong with the database, in one line, and what to do about it."""
        code = _code(exc)
        if code == sqlite3.SQLITE_FULL:
            return StoreError(f"cannot write to the database {self.path}: the disk is full ({exc})")
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return StoreError(
                f"the database {self.path} is busy: another interviewer process kept it locked for over "
                f"{self.timeout:g} s; try again when it is done (INTERVIEWER_DB_TIMEOUT sets the wait)"
            )
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return self._damaged(str(exc))
        if code == sqlite3.SQLITE_READONLY:
            return StoreError(f"cannot write to the database {self.path}: it is read-only here ({exc})")
        return StoreError(f"the database {self.path} failed: {exc}")

    def _damaged(self, what: str) -> StoreError:
        repaired = self.path.with_name("repaired.db")
        return StoreError(
            f"the database {self.path} is damaged ({what}). Keep a copy of it, then rebuild it with "
            f"`sqlite3 {self.path} .recover | sqlite3 {repaired}` and move {repaired.name} in its place, "
            "or put a backup there"
        )

    @contextmanager
    def _failures_explained(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._failure(exc) from None
        except _DamagedRow as exc:
            raise self._damaged(str(exc)) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        # One connection serves the session and its background graders: one transaction at a time.
        with self._lock, self._failures_explained():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock, self._failures_explained():
            return self._db.execute(sql, args).fetchall()

    def _use_wal(self) -> None:
        """Switch the database to WAL (a no-op once done). When first runs switch a new database
        together, SQLite refuses the losers at once, without its busy wait: retry them here."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if _code(exc) != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _schema_version(self) -> int:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            self._refuse_foreign(unless="sessions")  # a schema version of another program's
            raise StoreError(
                f"the database {self.path} was written by a newer interviewer (schema {version}); upgrade"
            )
        return version

    def _tables(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _missing_tables(self) -> list[str]:
        tables = self._tables()
        return [name for name in SCHEMA if name not in tables]

    def _refuse_foreign(self, unless: str | None = None) -> None:
        """A file with no schema version of ours that holds tables is another program's: refuse it,
        rather than add our tables beside its own. With `unless`, a file that holds that table is
        taken as ours."""
        tables = sorted(self._tables())
        if unless is not None:
            if tables and unless not in tables:
                raise self._foreign(tables)
            return
        # Read again after the tables: a first run beside this one may have just made ours, and its
        # version is committed with them.
        if tables and self._schema_version() == 0:
            raise self._foreign(tables)

    def _foreign(self, tables: list[str]) -> StoreError:
        shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
        return StoreError(
            f"{self.path} is not an interviewer database (it holds other tables: {shown}). Move it "
            "aside and a new one is made in its place, or set INTERVIEWER_HOME to another folder"
        )

    def _migrate(self) -> None:
        if self._schema_version() == len(MIGRATIONS) and not self._missing_tables():
            return
        # First runs may race here: read the version again under the write lock, so the first one
        # migrates and the others find the work done.
        with self._tx() as db:
            version = self._schema_version()
            if version == 0:
                self._refuse_foreign()
            for script in MIGRATIONS[version:]:
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            self._remake_missing(db)

    def _remake_missing(self, db: sqlite3.Connection) -> None:
        """Make again, empty, the tables of the schema a database of ours has lost, where that is
        safe (`REMADE_WHEN_MISSING`); refuse the file, as it is, where it is not."""
        missing = self._missing_tables()
        lost = [name for name in missing if name not in REMADE_WHEN_MISSING]
        if lost:
            raise StoreError(
                f"the database {self.path} has lost its table{'s' if len(lost) > 1 else ''} "
                f"{', '.join(lost)}, so what it holds cannot be read. Keep a copy of it, then put a backup "
                "in its place, or move it aside and a new one is made"
            )
        for name in missing:
            for statement in SCHEMA[name]:
                db.execute(statement)

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
                raise UsageError(
                    "there is no session yet: start one with `interviewer practice` or `interviewer mock`"
                )
        elif not ref.strip():  # as a prefix it would match every session
            raise UsageError("no session given: name one by its id (or its start), or `latest`")
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
        with self._failures_explained():
            return SessionRow(r[0], r[1], r[2], r[3], _object(r[4]), r[5], r[6])

    def has_session(self, session_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM sessions WHERE id = ?", (session_id,)))

    # --- answers and grades ---------------------------------------------------------------------

    def add_answer(
        self,
        session_id: str,
        question: dict,
        text: str,
        *,
        started_at: str,
        submitted_at: str | None = None,
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
                    submitted_at or now(),
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
        turns = self._follow_ups(" WHERE t.answer_id = ?", (answer_id,))
        with self._failures_explained():
            return _attempt(rows[0], turns.get(answer_id, ()))

    def attempts(
        self,
        *,
        session_id: str | None = None,
        question_id: str | None = None,
        limit: int | None = None,
    ) -> list[Attempt]:
        """Stored answers with the grades that stand: a session's in order, otherwise newest first."""
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
        rows = self._rows(sql, args)
        turns = self._follow_ups(
            " WHERE a.session_id = ?" if session_id else "", [session_id] if session_id else []
        )
        with self._failures_explained():
            return [_attempt(r, turns.get(r[0], ())) for r in rows]

    def _follow_ups(self, where: str, args: Sequence[object]) -> dict[int, list[FollowUpTurn]]:
        """The follow-up turns of the answers `where` selects, by answer id, in order."""
        by_answer: dict[int, list[FollowUpTurn]] = {}
        for row in self._rows(_TURN_SELECT + where + " ORDER BY t.answer_id, t.number", args):
            by_answer.setdefault(row[0], []).append(_turn(row))
        return by_answer

    def ask_follow_up(
        self, answer_id: int, number: int, prompt: str, *, started_at: str, time_limit: float | None
    ) -> int:
        """Commit a follow-up the moment it is asked (so a resumed interview asks it again); its id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO turns (answer_id, number, prompt, started_at, time_limit) VALUES (?, ?, ?, ?, ?)",
                (answer_id, number, prompt, started_at, time_limit),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def answer_follow_up(
        self, turn_id: int, text: str, *, started_at: str, timed_out: bool = False, skipped: bool = False
    ) -> None:
        """Commit a follow-up's answer."""
        with self._tx() as db:
            db.execute(
                "UPDATE turns SET text = ?, started_at = ?, submitted_at = ?, timed_out = ?, skipped = ? WHERE id = ?",
                (text, started_at, now(), int(timed_out), int(skipped), turn_id),
            )

    def scores(self) -> list[Scored]:
        """Every answer's score (of the grade that stands), newest first: what `stats` reads, without the texts and
        snapshots (over 10,000 answers, decoding those took seconds)."""
        rows = self._rows(
            f"""SELECT a.id, a.session_id, a.question_id, a.skipped, g.status, g.score,
                      {_IS_OBJECT.format("a.question")} AND (g.grade IS NULL OR {_IS_OBJECT.format("g.grade")})
               FROM answers a
               LEFT JOIN grades g ON g.id = {_STANDING_GRADE}
               ORDER BY a.submitted_at DESC, a.id DESC"""
        )
        if not all(r[6] for r in rows):  # checked in SQLite, without decoding every row here
            with self._failures_explained():
                raise _DamagedRow("a stored row holds invalid JSON, or JSON of the wrong shape")
        return [Scored(r[0], r[1], r[2], bool(r[3]), r[4] or "pending", r[5]) for r in rows]

    # --- spaced practice ------------------------------------------------------------------------

    def reviews(
        self, question_ids: Sequence[str] | None = None, *, session_id: str | None = None
    ) -> list[ReviewRow]:
        """The answers that count as reviews of their questions' key points, oldest first: the first
        answer to a question in each session (a retry in practice follows the feedback and the
        reference, so it shows no recall), with the grade that stands and the candidate's own rating."""
        where, args = "", list(question_ids or ())
        if question_ids is not None:
            if not question_ids:
                return []
            where = f" AND a.question_id IN ({', '.join('?' * len(question_ids))})"
        if session_id is not None:
            where += " AND a.session_id = ?"
            args.append(session_id)
        rows = self._rows(_REVIEW_SELECT + where + " ORDER BY a.submitted_at, a.id", args)
        with self._failures_explained():
            return [_review(row) for row in rows]

    def review_signatures(self) -> dict[str, tuple[int, ...]]:
        """Per question, numbers that change whenever anything its reviews are made of changes: an
        answer, a grade or a rating added (rows are only ever added)."""
        rows = self._rows(
            """SELECT a.question_id, count(DISTINCT a.id), max(a.id), coalesce(max(g.id), 0),
                      coalesce(max(r.id), 0)
               FROM answers a
               LEFT JOIN grades g ON g.answer_id = a.id
               LEFT JOIN ratings r ON r.answer_id = a.id
               GROUP BY a.question_id"""
        )
        return {row[0]: tuple(row[1:]) for row in rows}

    def answered_versions(self) -> dict[tuple[str, str], int]:
        """How many answers each version (question id, content hash) of a question has."""
        rows = self._rows("SELECT question_id, question_hash, count(*) FROM answers GROUP BY 1, 2")
        return {(row[0], row[1]): row[2] for row in rows}

    def rate(self, answer_id: int, rating: str | None) -> None:
        """Record the candidate's own rating of an answer (None: back to the one its grade gives)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO ratings (answer_id, rating, created_at) VALUES (?, ?, ?)",
                (answer_id, rating, now()),
            )

    def preference(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM preferences WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_preference(self, key: str, value: str | None) -> None:
        """Remember a setting (None forgets it)."""
        with self._tx() as db:
            if value is None:
                db.execute("DELETE FROM preferences WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO preferences (key, value) VALUES (?, ?)", (key, value))


@dataclass(frozen=True)
class Scored:
    """An answer's score (of the grade that stands), as `stats` reads it."""

    answer_id: int
    session_id: str
    question_id: str  # "topic/name": a bank id starts with its topic
    skipped: bool
    grade_status: str  # graded | failed | pending
    score: float | None

    @property
    def topic(self) -> str:
        return self.question_id.split("/", 1)[0]


@dataclass(frozen=True)
class ReviewRow:
    """A counted answer as the schedule reads it: no answer text, only what rates it."""

    answer_id: int
    session_id: str
    question_id: str
    question_hash: str
    started_at: str
    submitted_at: str
    time_limit: float | None
    timed_out: bool
    skipped: bool
    grade_status: str  # graded | failed | pending
    key_points: list[dict]  # the grade's verdicts; for a skipped answer, the question's key points
    errors: int  # errors the grade found
    rating: str | None  # the candidate's own rating, if they gave one


# Whether a JSON column holds an object (json_type fails on text that is not JSON: ask json_valid first).
_IS_OBJECT = "coalesce(CASE WHEN json_valid({0}) THEN json_type({0}) = 'object' END, 0)"


_REVIEW_SELECT = f"""
    SELECT a.id, a.session_id, a.question_id, a.question_hash, a.started_at, a.submitted_at,
           a.time_limit, a.timed_out, a.skipped, g.status,
           CASE WHEN NOT {_IS_OBJECT.format("a.question")}
                     OR (g.grade IS NOT NULL AND NOT {_IS_OBJECT.format("g.grade")}) THEN '!'
                WHEN a.skipped THEN json_extract(a.question, '$.key_points')
                ELSE json_extract(g.grade, '$.key_points') END,
           CASE WHEN json_valid(g.grade) THEN coalesce(json_array_length(g.grade, '$.errors'), 0) ELSE 0 END,
           (SELECT r.rating FROM ratings r WHERE r.answer_id = a.id ORDER BY r.id DESC LIMIT 1)
    FROM answers a
    LEFT JOIN grades g ON g.id = {_STANDING_GRADE}
    WHERE a.id = (SELECT min(b.id) FROM answers b WHERE b.session_id = a.session_id AND b.question_id = a.question_id)
"""


def _review(row: sqlite3.Row) -> ReviewRow:
    if row[10] == "!":  # checked in SQLite, which cannot read JSON out of text that is not JSON
        raise _DamagedRow("a stored row holds invalid JSON, or JSON of the wrong shape")
    points = json.loads(row[10]) if row[10] else []
    if not isinstance(points, list) or not all(isinstance(p, dict) and "point" in p for p in points):
        raise _DamagedRow("a stored grade holds key points of the wrong shape")
    return ReviewRow(
        answer_id=row[0],
        session_id=row[1],
        question_id=row[2],
        question_hash=row[3],
        started_at=row[4],
        submitted_at=row[5],
        time_limit=row[6],
        timed_out=bool(row[7]),
        skipped=bool(row[8]),
        grade_status=row[9] or "pending",
        key_points=points,
        errors=row[11],
        rating=row[12],
    )
