"""The timed mock interview: the countdown editor, scripted interviews end to end, failures, resume."""

import json
import sqlite3
import threading
import time

import httpx
import pytest
from llm_fakes import completion, verdicts_reply
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from interviewer import ui
from interviewer.grading.offline import OfflineGrader
from interviewer.session import MockInterview, split_answers
from interviewer.store import Store, now

BASE = "http://llm.test/v1"
GOOD = {
    "regularization/dropout": "During training dropout zeroes each unit at random with probability p, so units "
    "cannot co-adapt and the net behaves like an ensemble of thinned sub-networks. Inverted dropout scales the "
    "kept activations by 1/(1-p) during training, so at inference all units are used and nothing is rescaled.",
}


# --- the countdown editor, through prompt_toolkit's pipe input ------------------------------------


def _timed(keys, limit, *, after=None):
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        if after is not None:
            threading.Timer(after[0], pipe.send_text, args=(after[1],)).start()
        return ui.timed_answer("Q1/1 · test", limit, input=pipe, output=DummyOutput())


def test_time_running_out_submits_what_was_typed_as_timed_out():
    started = time.monotonic()
    answer = _timed("half an answer", 1.0)
    assert (answer.text, answer.outcome) == ("half an answer", "timed_out")
    assert 0.9 <= time.monotonic() - started < 5


def test_submit_before_the_deadline_and_skip():
    assert _timed("done\x04", 30).outcome == "submitted"
    skipped = _timed("not sure\x0e", 30)
    assert (skipped.text, skipped.outcome) == ("not sure", "skipped")


def test_typing_continues_until_the_clock_stops_it():
    answer = _timed("first part", 2.0, after=(0.5, " and more"))
    assert (answer.text, answer.outcome) == ("first part and more", "timed_out")


def test_ctrl_c_in_the_timed_editor_keeps_the_text():
    with pytest.raises(ui.AnswerCancelled) as cancelled:
        _timed("unfinished\x03", 30)
    assert cancelled.value.text == "unfinished"


def test_the_countdown_changes_colour_near_the_end():
    assert [ui.countdown_style(left) for left in (300, 61, 60, 16, 15, 0)] == [
        "class:clock",
        "class:clock",
        "class:clock.warn",
        "class:clock.warn",
        "class:clock.urgent",
        "class:clock.urgent",
    ]


# --- answers from a script ----------------------------------------------------------------------


def test_answers_are_separated_by_lines_of_three_dashes():
    assert split_answers("one\nline two\n---\n\n---\nthree\n---\n") == ["one\nline two", "", "three"]


def _mock(cli, *args, input=""):
    result = cli("mock", *args, "--json", input=input)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_a_scripted_interview_end_to_end_with_the_offline_grader(cli, home):
    result, summary = _mock(cli, "-n", "3", "--seed", "11", input="An answer.\n---\n\n---\nAnother answer.")
    assert result.exit_code == 0, result.stderr
    assert [q["status"] for q in summary["questions"]] == ["graded", "skipped", "graded"]
    assert len({q["question_id"] for q in summary["questions"]}) == 3
    assert summary["grader"] == "offline" and summary["status"] == "completed"
    assert summary["total"] is not None and summary["topics"]
    again, repeat = _mock(cli, "-n", "3", "--seed", "11", input="x")
    assert [q["question_id"] for q in repeat["questions"]] == [q["question_id"] for q in summary["questions"]]
    rows = sqlite3.connect(home / "interviewer.db").execute("SELECT count(*) FROM answers").fetchone()
    assert rows == (6,)


def test_questions_are_spread_over_the_chosen_topics_without_repeats(cli):
    _, summary = _mock(cli, "-n", "4", "--topic", "evaluation", "--topic", "optimization", input="a")
    topics = [q["topic"] for q in summary["questions"]]
    assert sorted(topics) == ["evaluation", "evaluation", "optimization", "optimization"]
    assert len({q["question_id"] for q in summary["questions"]}) == 4


def test_the_summary_names_strengths_gaps_and_what_to_practise(cli):
    _, summary = _mock(cli, "-n", "1", "--topic", "regularization", "--seed", "2", input="I do not know.")
    assert summary["gaps"] and summary["next_steps"]
    assert any(step.startswith("interviewer practice") for step in summary["next_steps"])


def test_the_formatted_summary_and_the_export_hint(cli):
    result = cli("mock", "-n", "2", "--seed", "5", input="Something.\n---\nSomething else.")
    assert result.exit_code == 0
    assert "Mock interview" in result.stdout and "Total" in result.stdout and "Session " in result.stdout
    assert "interviewer report " in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-n", "9999"), "questions match; ask for at most"),
        (("--difficulty", "brutal"), "unknown difficulty 'brutal'"),
        (("--topic", "poetry"), "unknown topic 'poetry'"),
        (
            (
                "-n",
                "1",
            ),
            "2 answers given for 1 questions",
        ),
    ],
)
def test_bad_mock_options_are_one_line_errors(cli, args, message):
    result = cli("mock", *args, input="a\n---\nb")
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the grader line, then the error


# --- with the LLM, and an endpoint failing mid-interview ----------------------------------------


def _reply_for(request):
    body = json.loads(request.content)
    user = body["messages"][1]["content"]
    points = user.split("## Key points")[1].split("## Candidate")[0].strip().splitlines()
    # The scripted answers state nothing, so a sound model credits nothing (a quote such as "First
    # answer" would not count as evidence, and the reply would be repaired, then failed).
    return completion(verdicts_reply([("missing", "")] * len(points)), usage=(10, 10, 0))


@pytest.fixture
def llm(monkeypatch, respx_mock, home):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("max_retries = 0\n")
    return respx_mock.post(f"{BASE}/chat/completions")


ANSWERS = "\n---\n".join(["First answer. It has words.", "Second answer. More words.", "Third answer. Done."])


def test_a_scripted_interview_graded_by_the_llm(cli, llm):
    llm.mock(side_effect=_reply_for)
    result, summary = _mock(cli, "-n", "3", "--seed", "4", input=ANSWERS)
    assert result.exit_code == 0, result.stderr
    assert summary["grader"] == "llm:gpt-4.1-mini"
    assert [q["status"] for q in summary["questions"]] == ["graded"] * 3
    assert len(llm.calls) == 3


def test_an_endpoint_failing_mid_interview_leaves_failed_grades_that_grade_fixes(cli, llm):
    calls = {"n": 0}

    def flaky(request):
        calls["n"] += 1
        return (
            httpx.Response(500, json={})
            if "Second answer" in request.content.decode()
            else _reply_for(request)
        )

    llm.mock(side_effect=flaky)
    result, summary = _mock(cli, "-n", "3", "--seed", "4", input=ANSWERS)
    assert result.exit_code == 1, "the interview completes, but not every answer is graded"
    statuses = [q["status"] for q in summary["questions"]]
    assert statuses == ["graded", "failed", "graded"]
    failed = summary["questions"][1]
    assert failed["score"] is None and "HTTP 500" in failed["failure"]
    assert summary["total"] == round(
        (summary["questions"][0]["score"] + summary["questions"][2]["score"]) / 2, 1
    )
    assert any(step.startswith("interviewer grade ") for step in summary["next_steps"])

    llm.mock(side_effect=_reply_for)
    fixed = cli("grade", summary["session_id"], "--json")
    assert fixed.exit_code == 0 and len(json.loads(fixed.stdout)["graded"]) == 1
    history = json.loads(cli("history", "--json").stdout)["attempts"]
    assert all(a["grade_status"] == "graded" for a in history if a["session_id"] == summary["session_id"])


# --- interruption and resume --------------------------------------------------------------------


def test_an_interrupted_interview_resumes_where_it_stopped(cli, home, builtin_bank):
    store = Store.open(home)
    questions = builtin_bank.interview(3, seed=9)
    run = MockInterview.start(store, OfflineGrader(), questions, per_question=120, total=None)
    turn = next(run.turns())
    run.submit(turn, "An answer to the first question.", started=now(), elapsed=30)
    run.wait()
    run.finish("interrupted")

    result, summary = _mock(cli, "--resume", run.session_id, input="Second.\n---\nThird.")
    assert result.exit_code == 0, result.stderr
    assert summary["session_id"] == run.session_id and summary["status"] == "completed"
    assert [q["question_id"] for q in summary["questions"]] == [q.id for q in questions]
    assert [q["status"] for q in summary["questions"]] == ["graded"] * 3

    again = cli("mock", "--resume", run.session_id, input="")
    assert again.exit_code == 2 and "is complete" in again.stderr


def test_resume_keeps_the_interviews_remaining_time(home, builtin_bank):
    store = Store.open(home)
    run = MockInterview.start(
        store, OfflineGrader(), builtin_bank.interview(3, seed=1), per_question=None, total=600
    )
    turn = next(run.turns())
    assert turn.limit == 600
    started = "2026-01-01T10:00:00+00:00"
    store.add_answer(run.session_id, turn.question.snapshot(), "x", started_at=started)
    store._rows("UPDATE answers SET submitted_at = '2026-01-01T10:07:00+00:00'")
    run.finish("interrupted")
    resumed = MockInterview.resume(store, OfflineGrader(), run.session_id)
    assert next(resumed.turns()).limit == pytest.approx(180)


def test_resume_of_a_practice_session_is_refused(cli):
    cli("practice", "optimization/adam", input="An answer.")
    result = cli("mock", "--resume", "latest", input="")
    assert result.exit_code == 2 and "not a mock interview" in result.stderr


def test_resume_after_a_kill_grades_the_answers_left_pending(cli, home, builtin_bank):
    store = Store.open(home)
    questions = builtin_bank.interview(3, seed=4)
    run = MockInterview.start(store, OfflineGrader(), questions, per_question=120, total=None)
    # What a kill leaves: the first answer committed, its grade never stored, the session active.
    store.add_answer(
        run.session_id, questions[0].snapshot(), "Momentum averages gradients.", started_at=now()
    )

    result, summary = _mock(cli, "--resume", run.session_id, input="Second.\n---\nThird.")
    assert result.exit_code == 0, result.stderr
    assert [q["status"] for q in summary["questions"]] == ["graded"] * 3


def test_a_failure_reason_reads_as_one_line_under_the_summary_table(cli, llm):
    """In the table's status column a reason wrapped into a row a word at 80 columns."""
    llm.mock(
        side_effect=lambda request: (
            httpx.Response(500, json={})
            if "Second answer" in request.content.decode()
            else _reply_for(request)
        )
    )
    result = cli("mock", "-n", "3", "--seed", "4", input=ANSWERS, env={"COLUMNS": "80"})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.startswith(" 2 "))
    assert "failed" in row and "HTTP" not in row
    [reason] = [line for line in lines if line.startswith("  2. ")]
    assert "HTTP 500" in reason
