"""Hostile values and inputs: numbers, endless streams, deep or huge TOML, odd files and variables.

Each ends in a one-line error and exit 2 before anything is stored, or is read as the user meant it.
"""

import json
import sqlite3
from pathlib import Path

import pytest

from interviewer.grading.offline import OfflineGrader
from interviewer.session import MockInterview
from interviewer.store import Store, now

ANSWER = "Adam keeps moving averages of the gradient and of its square, with bias correction."


def _sessions(home: Path) -> int:
    db = home / "interviewer.db"
    return sqlite3.connect(db).execute("SELECT count(*) FROM sessions").fetchone()[0] if db.exists() else 0


def _one_error(result, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["mock", "--per-question", "inf"],
        ["mock", "--per-question", "1e309"],
        ["mock", "--minutes", "inf"],
        ["mock", "--seed", "99999999999999999999"],
        ["history", "--limit", "99999999999999999999"],
    ],
)
def test_non_finite_and_absurd_options_are_refused_before_a_session_is_stored(cli, home, args):
    for extra in ([], ["--json"]):
        result = cli(*args, *extra, input="An answer.")
        assert result.exit_code == 2 and f"Invalid value for '{args[1]}'" in result.stderr, result.stderr
    assert _sessions(home) == 0


@pytest.mark.parametrize("value", ["nan", "inf", "1e309", "3601"])
def test_a_non_finite_or_absurd_timeout_is_refused_at_the_door(cli, home, value):
    result = cli(
        "practice", "optimization/adam", "--base-url", "http://127.0.0.1:9/v1",
        input=ANSWER, env={"INTERVIEWER_TIMEOUT": value},
    )  # fmt: skip
    _one_error(result, "timeout from environment", "at most 3600")
    assert _sessions(home) == 0


@pytest.mark.parametrize(
    ("setting", "shown"), [("timeout = inf", "timeout"), ("max_retries = 10000000000", "max_retries")]
)
def test_absurd_numbers_in_the_config_file_are_refused(cli, home, setting, shown):
    home.mkdir(parents=True)
    (home / "config.toml").write_text(setting + "\n")
    _one_error(cli("doctor"), f"{shown} from", "at most")


def test_a_session_stored_with_an_infinite_limit_still_reports_and_resumes(cli, home, builtin_bank):
    # What `mock --per-question inf` stored before the options were bounded.
    store = Store.open(home)
    run = MockInterview.start(
        store, OfflineGrader(), builtin_bank.interview(2, seed=1), per_question=float("inf"), total=None
    )
    run.submit(next(run.turns()), ANSWER, started=now(), elapsed=1.0)
    run.wait()
    run.finish("interrupted")
    for fmt in ("md", "html"):
        assert cli("report", "--format", fmt).exit_code == 0
    report = json.loads(cli("report", "--format", "json").stdout, parse_constant=pytest.fail)
    assert report["session"]["time_limit_per_question"] is None
    resumed = cli("mock", "--resume", "latest", "--grader", "offline", input=ANSWER)
    assert resumed.exit_code == 0, resumed.stderr
    after = json.loads(cli("report", "--format", "json").stdout)
    assert [q["status"] for q in after["questions"]] == ["graded", "graded"]
