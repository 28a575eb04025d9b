"""The SQLite store, on a real file."""

import sqlite3

import pytest

from interviewer.errors import StoreError, UsageError
from interviewer.store import MIGRATIONS, Store

QUESTION = {"id": "t/q", "topic": "t", "content_hash": "abc", "prompt": "Why?", "reference": "Because."}


def test_a_new_database_is_migrated_and_in_wal_mode(tmp_path):
    path = tmp_path / "x" / "interviewer.db"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "interviewer.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer interviewer"):
        Store(path)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "interviewer.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"is damaged .* \.recover"):
        Store(path)


def test_answers_are_kept_with_their_question_and_latest_grade(tmp_path):
    store = Store(tmp_path / "db")
    sid = store.create_session("practice", "offline")
    first = store.add_answer(sid, QUESTION, "an answer", started_at="2026-01-01T00:00:00+00:00")
    assert store.attempt(first).grade_status == "pending"
    store.add_grade(first, {"status": "failed", "grader": "llm:m", "failure": "timeout"})
    store.add_grade(first, {"status": "graded", "grader": "offline", "score": 6.5})
    store.close()

    reopened = Store(tmp_path / "db")
    attempt = reopened.attempt(first)
    assert (attempt.grade_status, attempt.score, attempt.question["reference"]) == ("graded", 6.5, "Because.")
    rows = sqlite3.connect(tmp_path / "db").execute("SELECT status FROM grades ORDER BY id").fetchall()
    assert rows == [("failed",), ("graded",)]  # the failure stays on record


def test_sessions_are_found_by_prefix_or_latest(tmp_path):
    store = Store(tmp_path / "db")
    with pytest.raises(UsageError, match="no session yet: start one with `interviewer practice`"):
        store.session("latest")
    a = store.create_session("practice", "offline")
    b = store.create_session("mock", "offline")
    assert store.session("latest").id == b
    assert store.session(a[:5]).id == a
    with pytest.raises(UsageError, match="no session"):
        store.session("zz%")
    for blank in ("", "  "):  # no prefix of every session, nor "matches more than one"
        with pytest.raises(UsageError, match="no session given"):
            store.session(blank)
