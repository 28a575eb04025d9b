"""Follow-up questions in a mock interview: which one the bank gives, how the turns are asked, stored,
graded together and resumed, through the real CLI (scripted, and a terminal over prompt_toolkit's pipe)."""

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from interviewer import store as store_module

TOY_BANK = """
topic = "toy"

[[questions]]
id = "toy/dropout"
difficulty = "easy"
prompt = "What does dropout do?"
reference = "Dropout zeroes random units during training, and at inference all units are kept with activations scaled."

[[questions.key_points]]
point = "Zeroes random units during training"
terms = ["zeroes | drops | removes", "random units | random neurons"]

[[questions.key_points]]
point = "At inference every unit is kept, activations scaled"
terms = ["inference | test time", "scaled | scales | rescaled"]

[[questions.follow_ups]]
prompt = "What changes at inference time?"
probes = [2]

[[questions.follow_ups]]
prompt = "How does dropout relate to ensembles?"
probes = []
"""

HALF = "Dropout zeroes random units during training."
REST = "At inference time nothing is dropped and the activations are scaled."
PROBE, DEEPER = "What changes at inference time?", "How does dropout relate to ensembles?"


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(TOY_BANK)
    return ["--bank", str(path), "--topic", "toy", "-n", "1", "--grader", "offline"]


def _rows(home, sql):
    return sqlite3.connect(home / "interviewer.db").execute(sql).fetchall()


def _grade(home):
    [(grade,)] = _rows(home, "SELECT grade FROM grades ORDER BY id DESC LIMIT 1")
    return json.loads(grade)


def test_a_missed_point_gets_its_follow_up_and_is_recovered_for_reduced_credit(cli, home, toy):
    result = cli("mock", *toy, "--follow-ups", "1", input=f"{HALF}\n---\n{REST}")
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT number, prompt, text, skipped FROM turns") == [(2, PROBE, REST, 0)]
    grade = _grade(home)
    verdicts = [(kp["verdict"], kp["recovered"]) for kp in grade["key_points"]]
    assert verdicts == [("covered", False), ("partial", True)]
    assert grade["score"] == 7.5  # the recovered point earns half: an interviewer had to ask for it
    assert f"1. Follow-up: {PROBE} (answered)" in result.stdout  # the summary shows the turn


def test_a_complete_answer_gets_the_deeper_follow_up(cli, home, toy):
    result = cli(
        "mock", *toy, "--follow-ups", "1", input=f"{HALF} {REST}\n---\nEach mask is a thinned network."
    )
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT prompt FROM turns") == [(DEEPER,)]
    assert _grade(home)["score"] == 10


def test_scripted_answers_get_no_follow_up_unless_asked(cli, home, toy):
    result = cli("mock", *toy, input=HALF)
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT count(*) FROM turns") == [(0,)]
    both = cli("mock", *toy, "--no-follow-ups", "--follow-ups", "2", input=HALF)
    assert both.exit_code == 2 and "contradict" in both.stderr


def test_a_terminal_interview_asks_a_follow_up_by_default(terminal, home, toy):
    result = terminal("\r" + HALF + "\x04" + REST + "\x04", "mock", *toy)
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT prompt, text FROM turns") == [(PROBE, REST)]
    assert [kp["recovered"] for kp in _grade(home)["key_points"]] == [False, True]
    assert "may ask a follow-up on the same question" in result.stdout


def test_up_to_n_follow_ups_a_question_each_after_the_last_answer(cli, home, toy):
    script = f"{HALF}\n---\n{REST}\n---\nEach mask trains a thinned network.\n---\nToo many."
    result = cli("mock", *toy, "--follow-ups", "2", input=script)
    assert result.exit_code == 2 and "4 answers given for 3 questions and follow-ups" in result.stderr
    result = cli("mock", *toy, "--follow-ups", "2", input=script.rsplit("\n---\n", 1)[0])
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT number, prompt FROM turns") == [(2, PROBE), (3, DEEPER)]


def test_ctrl_n_skips_a_follow_up(terminal, home, toy):
    result = terminal("\r" + HALF + "\x04" + "\x0e", "mock", *toy)
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT prompt, text, skipped FROM turns") == [(PROBE, "", 1)]
    assert _grade(home)["score"] == 5


def test_an_interview_stopped_during_a_follow_up_resumes_there(terminal, home, toy):
    stopped = terminal("\r" + HALF + "\x04" + "\x03", "mock", *toy)
    assert stopped.exit_code == 130
    assert "Continue it: interviewer mock --resume" in stopped.stderr
    [(session,)] = _rows(home, "SELECT id FROM sessions")
    assert _rows(home, "SELECT prompt, text FROM turns") == [(PROBE, None)]
    assert _rows(home, "SELECT count(*) FROM grades") == [(0,)]  # graded once its turns are in

    resumed = terminal("\r" + REST + "\x04", "mock", "--resume", session, "--grader", "offline")
    assert resumed.exit_code == 0, resumed.stderr
    assert "1 of 1 answered, the follow-up to question 1 first" in resumed.stderr
    assert _rows(home, "SELECT prompt, text FROM turns") == [(PROBE, REST)]
    assert _rows(home, "SELECT text FROM answers") == [(HALF,)]
    assert [kp["recovered"] for kp in _grade(home)["key_points"]] == [False, True]
    assert _rows(home, "SELECT status FROM sessions") == [("completed",)]


def test_a_database_of_the_first_schema_is_upgraded_in_place(cli, home):
    home.mkdir(parents=True)
    db = sqlite3.connect(home / "interviewer.db")
    db.executescript(store_module.MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO sessions VALUES ('abcd1234', 'practice', 'completed', 'offline', '{}', '2026-01-01T10:00:00+00:00', NULL)"
    )
    question = {"id": "toy/q", "topic": "toy", "prompt": "Q?", "reference": "R.", "content_hash": "h"}
    db.execute(
        "INSERT INTO answers (session_id, position, question_id, question_hash, question, text, started_at, submitted_at)"
        " VALUES ('abcd1234', 1, 'toy/q', 'h', ?, 'An old answer.', '2026-01-01T10:00:00+00:00', '2026-01-01T10:01:00+00:00')",
        (json.dumps(question),),
    )
    db.commit()
    db.close()

    result = cli("history", "--json")
    assert result.exit_code == 0, result.stderr
    [attempt] = json.loads(result.stdout)["attempts"]
    assert attempt["text"] == "An old answer." and attempt["session_id"] == "abcd1234"
    assert _rows(home, "PRAGMA user_version") == [(len(store_module.MIGRATIONS),)]
    assert _rows(home, "SELECT count(*) FROM turns") == [(0,)]


def test_the_reports_show_each_turn_and_the_recovered_point(cli, home, toy):
    cli("mock", *toy, "--follow-ups", "1", input=f"{HALF}\n---\n{REST}")
    doc = json.loads(cli("report", "latest", "--format", "json").stdout)
    assert doc["schema_version"] == 2
    [question] = doc["questions"]
    assert [(t["prompt"], t["follow_up"], t["answer"]) for t in question["turns"]] == [
        ("What does dropout do?", False, HALF),
        (PROBE, True, REST),
    ]
    assert [kp["recovered"] for kp in question["grade"]["key_points"]] == [False, True]
    md = cli("report", "latest").stdout
    assert f"**Follow-up:** {PROBE}" in md and REST in md and "_recovered after the follow-up_" in md
    html = cli("report", "latest", "--format", "html").stdout
    assert f"<strong>Follow-up:</strong> {PROBE}" in html and "recovered after the follow-up" in html


def test_the_summary_show_and_history_show_the_follow_up(cli, home, toy):
    mock = cli("mock", *toy, "--follow-ups", "1", input=f"{HALF}\n---\n{REST}")
    assert "+1 follow-up" in mock.stdout
    assert (
        json.loads(cli("mock", *toy, "--follow-ups", "1", "--json", input=HALF).stdout)["questions"][0][
            "follow_ups"
        ]
        == 1
    )
    show = cli("show", mock.stdout.split("Session ")[1].split()[0])
    assert f"Follow-up: {PROBE}" in show.stdout and REST in show.stdout
    assert "recovered after the follow-up" in show.stdout
    assert "toy/dropout (+1 follow-up)" in cli("history").stdout


def test_practice_with_follow_up_asks_one_after_the_first_answer(cli, home, toy):
    bank = toy[:2]
    result = cli(
        "practice",
        "toy/dropout",
        *bank,
        "--grader",
        "offline",
        "--follow-up",
        "--json",
        input=f"{HALF}\n---\n{REST}",
    )
    assert result.exit_code == 0, result.stderr
    assert [kp["recovered"] for kp in json.loads(result.stdout)["key_points"]] == [False, True]
    assert json.loads(result.stdout)["follow_ups"] == [{"prompt": PROBE, "answer": REST}]
    assert _rows(home, "SELECT prompt, text FROM turns") == [(PROBE, REST)]
    assert _rows(home, "SELECT text FROM answers") == [(HALF,)]


def test_practice_in_a_terminal_asks_the_follow_up(terminal, home, toy):
    bank = toy[:2]
    keys = HALF + "\x04" + REST + "\x04" + "\r" + "n\r"  # Enter keeps the grade's rating
    result = terminal(keys, "practice", "toy/dropout", *bank, "--grader", "offline", "--follow-up")
    assert result.exit_code == 0, result.stderr
    assert PROBE in result.stdout and "recovered after the follow-up" in result.stdout
    assert _rows(home, "SELECT prompt, text FROM turns") == [(PROBE, REST)]


def test_a_scripted_resume_answers_the_follow_up_it_stopped_in(terminal, cli, home, toy):
    terminal("\r" + HALF + "\x04" + "\x03", "mock", *toy)
    resumed = cli("mock", "--resume", "latest", "--grader", "offline", "--json", input=REST)
    assert resumed.exit_code == 0, resumed.stderr
    assert _rows(home, "SELECT prompt, text FROM turns") == [(PROBE, REST)]
    assert json.loads(resumed.stdout)["status"] == "completed"


def test_a_resumed_interview_out_of_time_grades_the_turns_it_has(cli, home, toy):
    from interviewer.bank import load
    from interviewer.grading.offline import OfflineGrader
    from interviewer.session import MockInterview
    from interviewer.store import Store

    question = load([Path(toy[1])]).get("toy/dropout")
    store = Store.open(home)
    run = MockInterview.start(
        store, OfflineGrader(), [question], per_question=None, total=60, most_follow_ups=1
    )
    answer_id = store.add_answer(
        run.session_id,
        question.snapshot(),
        HALF,
        started_at="2026-01-01T10:00:00+00:00",
        submitted_at="2026-01-01T10:01:00+00:00",
    )
    store.ask_follow_up(answer_id, 2, PROBE, started_at="2026-01-01T10:01:00+00:00", time_limit=None)
    run.finish("interrupted")

    resumed = cli("mock", "--resume", "latest", "--grader", "offline", "--json", input="")
    assert resumed.exit_code == 0, resumed.stderr
    assert [q["status"] for q in json.loads(resumed.stdout)["questions"]] == ["graded"]
    assert _grade(home)["score"] == 5
    assert _rows(home, "SELECT text FROM turns") == [(None,)]  # not asked with no time left


# --- an LLM grader's interview: the model writes the follow-up, the bank stands in -----------------

BASE = "http://llm.test/v1"


@pytest.fixture
def llm_toy(toy, monkeypatch, respx_mock, home):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-0123456789")
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("max_retries = 0\n")
    args = [a if a != "offline" else "llm" for a in toy]
    return args, respx_mock.post(f"{BASE}/chat/completions")


def _is_follow_up_request(request):
    return "follow-up" in json.loads(request.content)["messages"][0]["content"].lower()


def test_with_an_llm_grader_the_model_writes_the_follow_up(cli, home, llm_toy):
    from tests.llm_fakes import completion, verdicts_reply

    args, route = llm_toy
    asked = "Why must the remaining activations be rescaled when units are dropped?"
    route.mock(
        side_effect=lambda request: (
            completion(asked)
            if _is_follow_up_request(request)
            else completion(verdicts_reply([("covered", HALF), ("missing", "")]))
        )
    )
    result = cli("mock", *args, "--follow-ups", "1", input=f"{HALF}\n---\n{REST}")
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT prompt FROM turns") == [(asked,)]
    assert "comes from the bank" not in result.stderr


def test_when_the_model_cannot_write_one_the_banks_follow_up_is_asked_and_said_in_one_line(
    cli, home, llm_toy
):
    from tests.llm_fakes import completion, verdicts_reply

    args, route = llm_toy
    route.mock(
        side_effect=lambda request: (
            httpx.Response(500, json={"error": {"message": "overloaded"}})
            if _is_follow_up_request(request)
            else completion(verdicts_reply([("covered", HALF), ("missing", "")]))
        )
    )
    result = cli("mock", *args, "--follow-ups", "1", input=f"{HALF}\n---\n{REST}")
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT prompt FROM turns") == [(PROBE,)]
    [line] = [line for line in result.stderr.splitlines() if "comes from the bank" in line]
    assert "HTTP 500" in line and "sk-test" not in result.stderr


def test_a_follow_up_being_written_reaches_the_candidate_as_it_arrives(tmp_path, builtin_bank):
    """A model's follow-up streams: the candidate sees it grow (the terminal redraws a panel in place)."""
    from interviewer.grading.offline import OfflineGrader
    from interviewer.interview import Script, mock_interview
    from interviewer.session import MockInterview
    from interviewer.store import Store

    class Streaming:
        def follow_up(self, question, answer, *, on_text=None):
            for text in ("What", "What changes at", "What changes at inference time?"):
                on_text(text)
            return "What changes at inference time?"

    class Watching(Script):
        def __init__(self, answers):
            super().__init__(answers, note=lambda message: None)
            self.seen = []

        def writing(self):
            return self.seen.append

    grader, candidate = OfflineGrader(), Watching([HALF, REST])
    question = builtin_bank.get("regularization/dropout")
    store = Store.open(tmp_path)
    ended = mock_interview(
        grader,
        lambda: MockInterview.start(store, grader, [question], follow_ups=Streaming(), most_follow_ups=1),
        candidate,
    )
    assert ended is not None and ended.status == "completed"
    assert candidate.seen == ["What", "What changes at", "What changes at inference time?"]
    assert _rows(tmp_path, "SELECT prompt, text FROM turns") == [(PROBE, REST)]


def test_a_second_follow_up_aims_at_the_next_gap_when_the_first_was_not_answered(cli, home, toy):
    """The same gap would pick the same follow-up again: the interviewer moves on to the next one."""
    script = f"{HALF}\n---\nI am not sure.\n---\nEach mask trains a thinned network."
    result = cli("mock", *toy, "--follow-ups", "2", input=script)
    assert result.exit_code == 0, result.stderr
    assert _rows(home, "SELECT number, prompt FROM turns") == [(2, PROBE), (3, DEEPER)]
