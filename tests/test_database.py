"""The database under faults: concurrent first runs, a full disk, a lock held too long, damage, a
read-only home. Each is driven through the real CLI against a real SQLite file."""

import json
import multiprocessing
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from interviewer.cli import app
from interviewer.grading.offline import OfflineGrader
from interviewer.session import MockInterview
from interviewer.store import Store, now

ANSWER = "Adam keeps moving averages of the gradient and of its square, with bias correction."


def _practise_at_the_barrier(barrier, home: str, answer_file: str) -> None:
    """One `interviewer practice` run in its own process, started together with the others."""
    os.environ["INTERVIEWER_HOME"] = home
    barrier.wait()
    args = ["practice", "optimization/adam", "--grader", "offline", "--answer-file", answer_file, "--json"]
    try:
        app(args, prog_name="interviewer")
    except SystemExit as exit:
        os._exit(exit.code or 0)
    os._exit(0)


def test_concurrent_first_runs_on_a_fresh_home_store_every_answer(cli, tmp_path, monkeypatch):
    home, answer = tmp_path / "fresh-home", tmp_path / "answer.txt"
    answer.write_text(ANSWER, encoding="utf-8")
    # Warm everything but the database (imports, the bank cache), so the runs meet at opening it.
    cli("practice", "optimization/adam", "--grader", "offline", "--answer-file", str(answer))
    monkeypatch.setenv("INTERVIEWER_HOME", str(home))
    assert cli("bank", "list").exit_code == 0 and not (home / "interviewer.db").exists()
    runs = 8
    fork = multiprocessing.get_context("fork")
    barrier = fork.Barrier(runs)
    processes = [
        fork.Process(target=_practise_at_the_barrier, args=(barrier, str(home), str(answer)))
        for _ in range(runs)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [p.exitcode for p in processes] == [0] * runs
    stored = sqlite3.connect(home / "interviewer.db").execute("SELECT count(*) FROM answers").fetchone()[0]
    assert stored == runs


# --- a database that fails after it is open: the answer is kept in a recovery file ---------------


@pytest.fixture
def full_disk(home):
    """Fill the disk: every connection opened after `fill()` can grow the database no more (SQLite's
    page limit set to the pages it has, none of them free), and fails writes as on a full disk
    ("database or disk is full"); `free()` makes room again."""
    connect = sqlite3.connect

    def fill():
        db = connect(home / "interviewer.db")
        db.execute("VACUUM")  # no free page left inside the file either
        db.close()
        patch.setattr(sqlite3, "connect", connect_to_a_full_disk)

    def connect_to_a_full_disk(*args, **kwargs):
        db = connect(*args, **kwargs)
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        return db

    with pytest.MonkeyPatch.context() as patch:
        yield SimpleNamespace(fill=fill, free=patch.undo)


def _answers(home) -> list[str]:
    return [t for (t,) in sqlite3.connect(home / "interviewer.db").execute("SELECT text FROM answers")]


def _recovery_file(stderr: str) -> Path:
    """The recovery file the error names; it must be the only one, and one of a few short lines."""
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and all(line.startswith(("error: ", "Grading: ")) for line in lines)
    (path,) = re.findall(r"kept in (\S+\.json);", stderr)
    return Path(path)


# An answer longer than a page, so that storing it needs the page the full disk does not have.
LONG = "Adam keeps moving averages of the gradient and of its square, with bias correction. " * 80


def test_an_answer_the_full_disk_refuses_is_kept_and_recovered_later(cli, home, full_disk):
    cli("practice", "optimization/adam", "--grader", "offline", input="A first answer that fits.")
    full_disk.fill()
    refused = cli("practice", "optimization/adam", "--grader", "offline", input=LONG)
    assert refused.exit_code == 1
    assert "could not save your answer" in refused.stderr and "the disk is full" in refused.stderr
    kept = _recovery_file(refused.stderr)
    assert kept.parent == home / "recovery" and LONG in kept.read_text(encoding="utf-8")
    assert _answers(home) == ["A first answer that fits."]

    full_disk.free()
    assert cli("recover").exit_code == 0 and not kept.exists()
    assert _answers(home) == ["A first answer that fits.", LONG]
    graded = json.loads(cli("grade", "latest", "--json").stdout)["graded"]
    assert [g["status"] for g in graded] == ["graded"]
    assert cli("recover").stdout.startswith("Nothing to recover")


def test_a_mock_the_full_disk_cannot_start_keeps_every_answer_given(cli, home, full_disk):
    cli("practice", "optimization/adam", "--grader", "offline", input="A practice answer.")
    full_disk.fill()
    script = "First.\n---\nSecond.\n---\n\n---\nFourth."
    refused = cli("mock", "-n", "4", "--seed", "2", "--grader", "offline", input=script)
    assert refused.exit_code == 1 and "could not save your 3 answers" in refused.stderr
    kept = _recovery_file(refused.stderr)

    full_disk.free()
    assert cli("recover", str(kept)).exit_code == 0
    assert _answers(home) == ["A practice answer.", "First.", "Second.", "Fourth."]
    report = json.loads(cli("report", "latest", "--format", "json").stdout)
    assert report["session"]["mode"] == "mock"
    assert len(json.loads(cli("grade", "latest", "--json").stdout)["graded"]) == 3


def test_a_resumed_mock_keeps_the_refused_answer_and_every_one_after_it(cli, home, builtin_bank, full_disk):
    run = MockInterview.start(Store.open(home), OfflineGrader(), builtin_bank.interview(4, seed=5))
    run.submit(next(run.turns()), "Stored before the disk filled.", started=now(), elapsed=10)
    run.wait()
    run.finish("interrupted")
    full_disk.fill()
    script = f"{LONG}\n---\nThird.\n---\nFourth."
    refused = cli("mock", "--resume", run.session_id, "--grader", "offline", input=script)
    assert refused.exit_code == 1 and "could not save your 3 answers" in refused.stderr
    kept = _recovery_file(refused.stderr)

    full_disk.free()
    assert cli("recover").exit_code == 0
    report = json.loads(cli("report", run.session_id, "--format", "json").stdout)
    texts = [q["answer"] for q in report["questions"]]
    assert texts == ["Stored before the disk filled.", LONG.strip(), "Third.", "Fourth."]
    assert not kept.exists()


def test_a_database_locked_too_long_keeps_the_answer(cli, home, tmp_path, monkeypatch):
    cli("practice", "optimization/adam", "--grader", "offline", input="A first answer.")
    monkeypatch.setenv("INTERVIEWER_DB_TIMEOUT", "0.2")
    other = sqlite3.connect(home / "interviewer.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    refused = cli("practice", "optimization/adam", "--grader", "offline", input="Typed with care.")
    assert refused.exit_code == 1 and "is busy" in refused.stderr and "0.2 s" in refused.stderr
    kept = _recovery_file(refused.stderr)

    blocked = cli("recover")
    assert blocked.exit_code == 1 and "is busy" in blocked.stderr and kept.exists()
    other.execute("ROLLBACK")
    assert cli("recover").exit_code == 0 and not kept.exists()
    assert _answers(home) == ["A first answer.", "Typed with care."]


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "soon"])
def test_a_bad_database_timeout_is_refused(cli, monkeypatch, value):
    monkeypatch.setenv("INTERVIEWER_DB_TIMEOUT", value)
    result = cli("history")
    assert result.exit_code == 2 and result.stderr.startswith("error: INTERVIEWER_DB_TIMEOUT")


def _damage(home, how) -> None:
    db = sqlite3.connect(home / "interviewer.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the file itself, none in the log
    how(db)
    db.close()


def _garbage_pages(db) -> None:
    page_size, pages = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    with open(db.execute("PRAGMA database_list").fetchone()[2], "r+b") as file:
        file.seek(page_size)  # page 1, the header and schema, stays: the file is still SQLite
        file.write(b"\xa5\x5a" * (page_size * (pages - 1) // 2))


def _bad_json(db) -> None:
    db.execute('UPDATE answers SET question = \'{"id": "optimization/adam", \'')
    db.commit()


def _json_of_the_wrong_shape(db) -> None:
    db.execute("UPDATE answers SET question = '{}'")
    db.execute("UPDATE grades SET grade = '[]'")
    db.commit()


@pytest.mark.parametrize("how", [_garbage_pages, _bad_json, _json_of_the_wrong_shape])
@pytest.mark.parametrize(
    "command", [["history"], ["stats"], ["report", "latest"], ["grade", "latest"], ["plan"], ["review"]]
)
def test_a_damaged_database_is_reported_with_what_to_do(cli, home, how, command):
    cli("practice", "optimization/adam", "--grader", "offline", input="An answer.")
    _damage(home, how)
    result = cli(*command)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"error: the database {home / 'interviewer.db'} is damaged")
    assert ".recover" in line and "backup" in line and "Traceback" not in result.stderr


# --- a file that lacks our tables ------------------------------------------------------------------


def test_an_empty_file_becomes_a_new_database(cli, home):
    home.mkdir()
    (home / "interviewer.db").write_bytes(b"")
    assert cli("history").exit_code == 0
    stored = cli("practice", "optimization/adam", "--grader", "offline", "--json", input="An answer.")
    assert stored.exit_code == 0, stored.stderr
    assert [a["text"] for a in json.loads(cli("history", "--json").stdout)["attempts"]] == ["An answer."]


@pytest.mark.parametrize(
    "command",
    [["history"], ["stats"], ["show"], ["plan"], ["practice", "optimization/adam", "--grader", "offline"]],
)
def test_another_programs_database_is_refused_and_left_as_it_was(cli, home, command):
    home.mkdir()
    path = home / "interviewer.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('mine')")
    before = path.read_bytes()
    result = cli(*command, input="An answer.")
    assert result.exit_code == 1
    # before: every command worked, adding our tables (and WAL mode) to the other program's file
    assert result.stderr == (
        f"error: {path} is not an interviewer database (it holds other tables: notes). Move it aside and "
        "a new one is made in its place, or set INTERVIEWER_HOME to another folder\n"
    )
    assert path.read_bytes() == before


def test_another_programs_database_with_a_schema_version_is_refused_as_not_ours(cli, home):
    home.mkdir()
    path = home / "interviewer.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("PRAGMA user_version = 7")
    result = cli("history")
    assert result.exit_code == 1
    # before: "was written by a newer interviewer (schema 7); upgrade"
    assert result.stderr.startswith(
        f"error: {path} is not an interviewer database (it holds other tables: notes)"
    )


def test_a_folder_in_the_databases_place_is_named_as_such(cli, home):
    (home / "interviewer.db").mkdir(parents=True)
    for command in (["history"], ["practice", "optimization/adam", "--grader", "offline"]):
        result = cli(*command, input="An answer.")
        assert result.exit_code == 1
        # before: "failed: disk I/O error" or "failed: unable to open database file"
        assert result.stderr == (
            f"error: {home / 'interviewer.db'} is a folder, not a database file. Move it aside and a new "
            "database is made in its place, or set INTERVIEWER_HOME to another folder\n"
        )


@pytest.mark.parametrize("table", ["grades", "turns", "ratings", "preferences"])
def test_a_table_dropped_that_nothing_refers_to_is_made_again(cli, home, table):
    cli("practice", "optimization/adam", "--grader", "offline", input="An answer.")
    with sqlite3.connect(home / "interviewer.db") as db:
        db.execute(f"DROP TABLE {table}")
    for command in (["history"], ["stats"], ["plan"], ["review"], ["show"], ["report", "latest"]):
        result = cli(*command)
        assert result.exit_code == 0, (command, result.stderr)  # before: "failed: no such table: …"
    again = cli("practice", "optimization/adam", "--grader", "offline", "--json", input="Another.")
    assert again.exit_code == 0, again.stderr
    texts = [a["text"] for a in json.loads(cli("history", "--json").stdout)["attempts"]]
    assert texts == ["Another.", "An answer."]


@pytest.mark.parametrize("table", ["sessions", "answers"])
def test_a_database_without_its_answers_or_sessions_is_refused_as_it_is(cli, home, table):
    cli("practice", "optimization/adam", "--grader", "offline", input="An answer.")
    path = home / "interviewer.db"
    with sqlite3.connect(path) as db:
        db.execute(f"DROP TABLE {table}")
        kept = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    for command in (["history"], ["stats"], ["practice", "optimization/adam", "--grader", "offline"]):
        result = cli(*command, input="More.")
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: the database {path} has lost its table {table}, so what it holds cannot be read. Keep "
            "a copy of it, then put a backup in its place, or move it aside and a new one is made\n"
        )
    with sqlite3.connect(path) as db:  # nothing made, nothing dropped
        assert sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")) == kept


# --- a home the user cannot write to -------------------------------------------------------------


def _as_a_user_who_cannot_write(args: list[str]) -> list[str]:
    """The command run without root's power to write anywhere: permissions then bind as for a user."""
    if os.geteuid() != 0:
        return args
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv, which could drop root's override of permissions")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *args]


def _interviewer(home: Path, *args: str, input: str = "") -> subprocess.CompletedProcess:
    command = _as_a_user_who_cannot_write([sys.executable, "-m", "interviewer", *args])
    env = {**os.environ, "INTERVIEWER_HOME": str(home)}
    return subprocess.run(command, input=input, capture_output=True, text=True, env=env, timeout=60)


def _read_only(folder: Path) -> None:
    for path in folder.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


def test_commands_that_only_read_work_in_a_read_only_home(home, tmp_path):
    stored = _interviewer(home, "practice", "optimization/adam", "--grader", "offline", input="An answer.")
    assert stored.returncode == 0, stored.stderr
    assert not (home / "interviewer.db-wal").exists()  # closed cleanly: the log is folded into the file
    _read_only(home)
    try:
        history = _interviewer(home, "history", "--json")
        assert history.returncode == 0, history.stderr
        assert [a["text"] for a in json.loads(history.stdout)["attempts"]] == ["An answer."]
        assert _interviewer(home, "stats", "--json").returncode == 0
        report = _interviewer(home, "report", "latest", "--format", "json")
        assert report.returncode == 0 and json.loads(report.stdout)["questions"][0]["answer"] == "An answer."
        refused = _interviewer(home, "practice", "optimization/adam", "--grader", "offline", input="More.")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "is read-only" in refused.stderr
    finally:
        home.chmod(0o755)
        for path in home.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_reading_a_home_with_no_database_yet_creates_nothing(home):
    home.mkdir()
    _read_only(home)
    history = _interviewer(home, "history")
    assert history.returncode == 0 and "No attempts yet" in history.stdout
    assert list(home.iterdir()) == []


@pytest.mark.parametrize("content", ["[1]", "{}", "[" * 100_000, "not json"])
def test_a_file_that_is_no_recovery_file_is_one_error_line(cli, tmp_path, content):
    path = tmp_path / "answer.json"
    path.write_text(content)
    result = cli("recover", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: not an interviewer recovery file\n"
