"""Spaced practice through the real CLI: `practice --due`, `--rate`, `mock --due`, `plan`, `review`,
`stats`, and the marks on answers to questions that changed since."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from test_schedule import answer

from interviewer.store import Store

NOW = datetime.now(UTC)


@pytest.fixture
def store(home: Path):
    with Store.open(home) as s:
        yield s


def _json(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


def test_practice_due_asks_the_most_overdue_question_and_says_why(cli, store, builtin_bank):
    older, newer = builtin_bank.get("regularization/dropout"), builtin_bank.get("optimization/adam")
    answer(store, newer, "missing", NOW - timedelta(days=3))
    answer(store, older, "missing", NOW - timedelta(days=10))
    result = cli("practice", "--due", "--json", input="Dropout zeroes random units while training.")
    data = _json(result)
    assert data["question_id"] == older.id and data["picked"]["why"] == "due"
    assert f"Due: {older.id}" in result.stderr and "days ago" in result.stderr
    # Its answer is the newest review of it: the other question is now the most overdue.
    assert _json(cli("practice", "--due", "--json", input="Adam adapts the step."))["question_id"] == newer.id


def test_practice_due_says_so_when_nothing_is_due_yet(cli, store, builtin_bank):
    adam = builtin_bank.get("optimization/adam")
    answer(store, adam, "covered", NOW - timedelta(hours=1))
    result = cli("practice", "--due", "--topic", "optimization", "--json", input="An answer about Adam.")
    assert _json(result)["question_id"] == adam.id
    assert "Nothing is due today" in result.stderr and "due soonest" in result.stderr


def test_practice_due_with_nothing_answered_asks_an_unseen_question(cli):
    result = cli("practice", "--due", "--topic", "evaluation", "--json", input="An answer.")
    data = _json(result)
    assert data["question_id"].startswith("evaluation/") and data["picked"]["why"] == "unseen"
    assert "a question you have not seen" in result.stderr


def test_an_override_from_practice_changes_the_next_due_date(cli, builtin_bank):
    adam = builtin_bank.get("optimization/adam")
    text = adam.reference  # the reference itself: every key point covered

    def next_due(*rate: str) -> str:
        session = _json(cli("practice", adam.id, "--json", *rate, input=text))["session_id"]
        [row] = _json(cli("review", session, "--json"))["answers"]
        return row

    graded = next_due()
    assert graded["own_rating"] is None and set(graded["ratings"].values()) <= {"good", "easy"}
    guessed = next_due("--rate", "again")
    assert guessed["own_rating"] == "again" and set(guessed["ratings"].values()) == {"again"}
    assert guessed["next_due"] < graded["next_due"]


def test_review_rates_an_answer_and_gives_the_grades_rating_back(cli, store, builtin_bank):
    adam = builtin_bank.get("optimization/adam")
    session = store.create_session("practice", "offline")
    answer(store, adam, "covered", NOW - timedelta(days=1), session=session)
    before = _json(cli("review", session, "--json"))["answers"][0]
    rated = cli("review", session, "--rate", "again")
    assert rated.exit_code == 0, rated.stderr
    assert "rated again by you" in rated.stderr
    after = _json(cli("review", session, "--json"))["answers"][0]
    assert after["next_due"] < before["next_due"] and after["own_rating"] == "again"
    assert cli("review", session, "1", "--rate", "auto").exit_code == 0
    assert _json(cli("review", session, "--json"))["answers"][0]["next_due"] == before["next_due"]


def test_review_refuses_what_it_cannot_rate_in_one_line(cli, store, builtin_bank):
    adam, dropout = builtin_bank.get("optimization/adam"), builtin_bank.get("regularization/dropout")
    mock = store.create_session("mock", "offline")
    answer(store, adam, "covered", NOW - timedelta(days=1), session=mock)
    answer(store, dropout, "covered", NOW - timedelta(days=1), session=mock)
    _one_line_error(cli("review", mock, "--rate", "good"), "give the number")
    _one_line_error(cli("review", mock, "3", "--rate", "good"), "no question 3")
    _one_line_error(cli("review", mock, "1", "--rate", "meh"), "unknown rating")
    _one_line_error(cli("review", "nosuchsession"), "no session")
    retry = store.create_session("practice", "offline")
    answer(store, adam, "missing", NOW - timedelta(hours=2), session=retry)
    answer(store, adam, "covered", NOW - timedelta(hours=1), session=retry)
    rows = _json(cli("review", retry, "--json"))["answers"]
    assert [r["counts"] for r in rows] == [True, False]
    _one_line_error(cli("review", retry, "2", "--rate", "good"), "a retry")


def test_mock_due_asks_due_questions_first(cli, store, builtin_bank):
    due = builtin_bank.get("regularization/batch-norm")
    answer(store, due, "missing", NOW - timedelta(days=4))
    result = cli("mock", "--due", "-n", "3", "--json", input="one\n---\ntwo\n---\nthree")
    data = _json(result)
    ids = [q["question_id"] for q in data["questions"]]
    assert ids[0] == due.id and len(set(ids)) == 3
    assert len({builtin_bank.get(i).topic for i in ids}) == 3  # spread over topics
    shown = cli("mock", "--due", "-n", "2", input="one\n---\ntwo")
    assert "Chosen by your schedule: 1 due" in shown.stderr or "Chosen by your schedule:" in shown.stderr
    _one_line_error(cli("mock", "--due", "--seed", "3", input="x"), "--seed")
    _one_line_error(cli("mock", "--due", "--resume", "latest"), "--resume")
    _one_line_error(cli("mock", "--due", "-n", "500", input="x"), "at most")


def test_plan_toward_a_date_is_remembered_and_covers_every_topic(cli, store, builtin_bank):
    answer(store, builtin_bank.get("optimization/adam"), "missing", NOW - timedelta(days=2))
    until = (date.today() + timedelta(days=7)).isoformat()  # 9 questions in a week: more than one a day
    data = _json(cli("plan", "--until", until, "--topic", "optimization", "--topic", "evaluation", "--json"))
    assert data["until"] == until and data["needed_per_day"] >= 2
    assert data["short_on_the_day"] == 0 and data["ready_on"] <= until
    assert {t["topic"] for t in data["topics"]} == {"optimization", "evaluation"}
    assert data["today"][0]["question_id"] == "optimization/adam" and data["today"][0]["why"] == "due"
    again = _json(cli("plan", "--json"))  # the date is remembered
    assert again["until"] == until
    assert _json(cli("stats", "--json"))["schedule"]["interview_date"] == until
    slower = _json(
        cli("plan", "--per-day", "1", "--topic", "optimization", "--topic", "evaluation", "--json")
    )
    assert slower["per_day"] == 1 and slower["short_on_the_day"] > 0
    shown = cli("plan", "--per-day", "1", "--topic", "optimization")
    assert "would not be ready on the day" in shown.stdout and "interviewer mock --due -n" in shown.stdout
    assert _json(cli("plan", "--until", "none", "--json"))["until"] is None


def test_plan_refuses_bad_dates_and_retention_in_one_line(cli):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    _one_line_error(cli("plan", "--until", yesterday), "in the past")
    _one_line_error(cli("plan", "--until", "next friday"), "not a date")
    _one_line_error(cli("plan", "--until", "2026-02-30"), "not a date")
    _one_line_error(cli("plan", "--retention", "1.5"), "retention")
    _one_line_error(cli("plan", "--retention", "nan"), "retention")
    _one_line_error(cli("plan", "--per-day", "0"), "--per-day")


def test_a_retention_target_is_remembered_and_shortens_the_intervals(cli, store, builtin_bank):
    adam = builtin_bank.get("optimization/adam")
    session = store.create_session("practice", "offline")
    answer(store, adam, "covered", NOW - timedelta(days=1), session=session)
    relaxed = _json(cli("review", session, "--json"))["answers"][0]["next_due"]
    assert _json(cli("plan", "--retention", "0.97", "--json"))["retention"] == 0.97
    strict = _json(cli("review", session, "--json"))["answers"][0]["next_due"]
    assert strict < relaxed


def test_stats_shows_due_today_the_forecast_and_retention_per_topic(cli, store, builtin_bank):
    answer(store, builtin_bank.get("optimization/adam"), "missing", NOW - timedelta(days=3))
    answer(store, builtin_bank.get("regularization/dropout"), "covered", NOW - timedelta(hours=1))
    data = _json(cli("stats", "--json"))["schedule"]
    assert data["due_today"] == 1 and data["forecast"][0] == 1 and len(data["forecast"]) == 14
    assert data["due_this_week"] == 2  # dropout's key points come due within days
    topics = {t["topic"]: t for t in data["topics"]}
    dropout_points = len(builtin_bank.get("regularization/dropout").key_points)
    assert topics["regularization"]["retained"] == dropout_points
    assert topics["optimization"]["retained"] == 0
    shown = cli("stats").stdout
    assert "Due today: 1 question" in shown and "Key points retained now, per topic" in shown


BANK_FILE = """
topic = "mine"

[[questions]]
id = "mine/caching"
difficulty = "easy"
prompt = "Why cache model predictions?"
reference = "{reference}"
"""


def test_answers_to_a_changed_or_removed_question_are_marked_and_weaker(cli, home, tmp_path, monkeypatch):
    own = tmp_path / "mine.toml"
    own.write_text(
        BANK_FILE.format(
            reference="Caching saves recomputing identical requests, which cuts latency and cost."
        )
    )
    monkeypatch.setenv("INTERVIEWER_BANK", str(own))
    session = _json(cli("practice", "mine/caching", "--json", input="Caching cuts latency and cost."))[
        "session_id"
    ]
    assert _json(cli("history", "--json"))["attempts"][0]["question_version"] == "current"

    own.write_text(
        BANK_FILE.format(
            reference="Caching saves recomputing identical requests: lower latency, lower cost, less load."
        )
    )
    history = _json(cli("history", "--json"))["attempts"][0]
    assert history["question_version"] == "older"
    assert "(older version)" in cli("history").stdout
    assert _json(cli("review", session, "--json"))["answers"][0]["question_version"] == "older"
    assert _json(cli("stats", "--json"))["schedule"]["stale_answers"] == 1
    report = cli("report", session, "--format", "md")
    assert "has changed in the bank since this answer" in report.stdout
    assert _json(cli("report", session, "--format", "json"))["questions"][0]["question_version"] == "older"

    monkeypatch.delenv("INTERVIEWER_BANK")
    # Named with --bank instead, the file is the question's home as with the variable.
    assert _json(cli("history", "--json", "--bank", str(own)))["attempts"][0]["question_version"] == "older"
    assert _json(cli("stats", "--json", "--bank", str(own)))["schedule"]["stale_answers"] == 1
    assert _json(cli("review", session, "--json", "--bank", str(own)))["answers"][0]["next_due"]
    assert _json(cli("history", "--json"))["attempts"][0]["question_version"] == "removed"
    assert "(no longer in the bank)" in cli("history").stdout
    assert _json(cli("stats", "--json"))["schedule"]["removed_questions"] == 1
    assert all(p["question_id"] != "mine/caching" for p in _json(cli("plan", "--json"))["today"])


def test_in_a_terminal_practice_asks_for_a_rating_after_the_feedback(terminal, home, builtin_bank):
    adam = builtin_bank.get("optimization/adam")
    result = terminal(adam.reference + "\x04" + "a\r" + "n\r", "practice", adam.id, "--grader", "offline")
    assert result.exit_code == 0, result.stderr
    with Store.open(home) as s:
        [row] = s.reviews()
    assert row.rating == "again"
    kept = terminal(adam.reference + "\x04" + "\r" + "n\r", "practice", adam.id, "--grader", "offline")
    assert kept.exit_code == 0, kept.stderr
    with Store.open(home) as s:
        assert [r.rating for r in s.reviews()] == ["again", None]
