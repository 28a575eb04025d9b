"""The interview loops as a candidate meets them: the real CLI with its terminal driven through
prompt_toolkit's pipe input, background grading that fails, and the external editor."""

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from interviewer import ui
from interviewer.config import Settings
from interviewer.grading.llm import LLMGrader
from interviewer.session import MockInterview
from interviewer.store import Store, now

GOOD_ADAM = (
    "Adam keeps an exponential moving average of the gradients, like momentum, and a moving average of the "
    "squared gradients, like RMSProp. Each parameter's step is the first moment divided by the square root "
    "of the second moment, so every parameter gets its own adaptive step size."
)


def _db(home, sql):
    path = home / "interviewer.db"
    return sqlite3.connect(path).execute(sql).fetchall() if path.exists() else []


# --- the mock interview in the terminal ---------------------------------------------------------------


def test_no_at_ready_creates_no_session(terminal, home):
    result = terminal("n\r", "mock", "-n", "2", "--grader", "offline")
    assert result.exit_code == 0, result.stderr
    assert "No interview was started" in result.stderr
    assert _db(home, "SELECT count(*) FROM sessions") in ([], [(0,)])


def test_ctrl_c_at_ready_stops_with_130_and_creates_no_session(terminal, home):
    result = terminal("\x03", "mock", "-n", "2", "--grader", "offline")
    assert result.exit_code == 130, result.stderr  # before: 0, as if they had answered no
    assert "No interview was started, and nothing was saved." in result.stderr
    assert "Stopped." in result.stderr
    assert _db(home, "SELECT count(*) FROM sessions") in ([], [(0,)])


def test_ctrl_c_at_ready_of_a_resumed_interview_leaves_it_as_it_was(terminal, home):
    first = terminal("\r" + "A first answer.\x04" + "\x03", "mock", "-n", "2", "--grader", "offline")
    assert first.exit_code == 130
    [(session, status)] = _db(home, "SELECT id, status FROM sessions")
    result = terminal("\x03", "mock", "--resume", session, "--grader", "offline")
    assert result.exit_code == 130, result.stderr
    assert f"Session {session} stays as it was." in result.stderr
    assert _db(home, "SELECT id, status FROM sessions") == [(session, status)]
    assert [t for (t,) in _db(home, "SELECT text FROM answers")] == ["A first answer."]


def test_ctrl_c_at_try_again_stops_with_130_and_keeps_the_graded_answer(terminal, home):
    keys = GOOD_ADAM + "\x04" + "\r" + "\x03"  # answer; Enter: the grade's rating; Ctrl-C at "Try again?"
    result = terminal(keys, "practice", "optimization/adam", "--grader", "offline")
    assert result.exit_code == 130, result.stderr  # before: 0
    assert "Stopped." in result.stderr and "`interviewer history` lists your attempts" in result.stderr
    assert _db(home, "SELECT a.text, g.status FROM answers a JOIN grades g ON g.answer_id = a.id") == [
        (GOOD_ADAM, "graded")
    ]
    assert _db(home, "SELECT status, ended_at IS NOT NULL FROM sessions") == [("completed", 1)]


def test_ctrl_c_at_the_rating_stops_with_130_and_keeps_the_grades_rating(terminal, home):
    keys = GOOD_ADAM + "\x04" + "a" + "\x03" + "n\r"  # a rating half typed, then Ctrl-C
    result = terminal(keys, "practice", "optimization/adam", "--grader", "offline")
    assert result.exit_code == 130, result.stderr  # before: 0, and "Try again?" was asked
    assert "Stopped." in result.stderr
    assert _db(home, "SELECT a.text, g.status FROM answers a JOIN grades g ON g.answer_id = a.id") == [
        (GOOD_ADAM, "graded")
    ]
    assert _db(home, "SELECT count(*) FROM ratings") in ([], [(0,)])
    assert _db(home, "SELECT status FROM sessions") == [("completed",)]


def test_a_typed_interview_end_to_end(terminal, home):
    keys = "\r" + "Momentum averages past gradients.\x04" + "\x0e"  # ready; answer; skip
    result = terminal(keys, "mock", "-n", "2", "--seed", "3", "--grader", "offline", "--no-follow-ups")
    assert result.exit_code == 0, result.stderr
    assert "2 questions," in result.stdout and "Session " in result.stdout
    rows = _db(
        home, "SELECT a.text, a.skipped, s.status FROM answers a JOIN sessions s ON s.id = a.session_id"
    )
    assert rows == [("Momentum averages past gradients.", 0, "completed"), ("", 1, "completed")]


def test_one_question_is_one_question(cli):
    result = cli("mock", "-n", "1", "--grader", "offline", input="An answer.")
    assert "1 question," in result.stdout and "1 questions" not in result.stdout


def test_ctrl_c_in_the_editor_leaves_an_interview_that_resumes_where_it_stopped(terminal, home, cli):
    result = terminal(
        "\r" + "A first answer.\x04" + "half of it\x03",
        "mock",
        "-n",
        "3",
        "--grader",
        "offline",
        "--no-follow-ups",
    )
    assert result.exit_code == 130
    [(session, status)] = _db(home, "SELECT id, status FROM sessions")
    assert status == "interrupted"
    resumed = terminal("\r" + "The third.\x04", "mock", "--resume", session, "--grader", "offline")
    assert "Resuming session " + session + ": 2 of 3 answered, up to 5:00 a question." in resumed.stderr
    assert resumed.exit_code == 0, resumed.stderr
    assert [t for (t,) in _db(home, "SELECT text FROM answers ORDER BY id")] == [
        "A first answer.",
        "half of it",
        "The third.",
    ]


def test_an_interrupt_outside_the_editor_leaves_the_interview_interrupted(terminal, home, monkeypatch):
    """Ctrl-C can land between two questions (while one is drawn, or an answer stored): the loop is
    escaped by KeyboardInterrupt, not by the editor's AnswerCancelled."""
    asked = []

    def answer(label, limit, **kwargs):
        asked.append(label)
        if len(asked) == 2:
            raise KeyboardInterrupt
        return SimpleNamespace(text="The first answer.", outcome="submitted", seconds=5.0)

    monkeypatch.setattr(ui, "timed_answer", answer)
    result = terminal("\r", "mock", "-n", "3", "--grader", "offline")
    assert result.exit_code == 130
    assert _db(home, "SELECT status FROM sessions") == [("interrupted",)]
    assert "mock --resume" in result.stderr


# --- background grading is observable -----------------------------------------------------------------


def _refuse_grades(home, when: str) -> None:
    """A database that refuses some grades, as a full disk or a broken file would."""
    Store.open(home).close()
    db = sqlite3.connect(home / "interviewer.db")
    db.execute(
        f"CREATE TRIGGER refuse BEFORE INSERT ON grades {when} BEGIN SELECT RAISE(ABORT, 'no room left'); END"
    )
    db.commit()


def test_a_grade_the_store_refuses_is_a_failed_grade_with_its_reason(cli, home):
    _refuse_grades(home, "WHEN NEW.status = 'graded'")
    result = cli("mock", "-n", "2", "--grader", "offline", "--json", input="An answer.\n---\nAnother.")
    assert result.exit_code == 1
    questions = json.loads(result.stdout)["questions"]
    assert [q["status"] for q in questions] == ["failed", "failed"]
    assert all("no room left" in q["failure"] for q in questions)


def test_a_failure_that_cannot_be_stored_either_is_told(cli, home):
    _refuse_grades(home, "")
    result = cli("mock", "-n", "1", "--grader", "offline", input="An answer.")
    assert result.exit_code == 1
    assert "could not be graded, and its failure not stored:" in result.stderr
    assert "no room left" in result.stderr


def test_the_warm_up_is_not_counted_as_an_answer(home, builtin_bank, respx_mock):
    from llm_fakes import BASE, completion, reply

    respx_mock.post(f"{BASE}/chat/completions").mock(return_value=completion(reply()))
    grader = LLMGrader(Settings(grader="llm", model="m", base_url=BASE, max_retries=0))
    questions = builtin_bank.interview(3, seed=2)
    run = MockInterview.start(Store.open(home), grader, questions, per_question=None)
    run.warm()
    for turn in run.turns():
        run.submit(turn, "An answer.", started=now(), elapsed=1.0)
    seen = []
    run.wait(lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)


class _Hanging(BaseHTTPRequestHandler):
    """An endpoint that takes the request and does not answer until the test ends."""

    arrived = threading.Event()
    release = threading.Event()

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).arrived.set()
        type(self).release.wait(120)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_after_stopped_waiting_the_process_stops(home):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hanging)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "INTERVIEWER_TIMEOUT": "300"}
    args = ["-m", "interviewer", "mock", "-n", "1", "--json", "--model", "m"]
    url = f"http://127.0.0.1:{server.server_port}/v1"
    process = subprocess.Popen(
        [sys.executable, *args, "--base-url", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        process.stdin.write("An answer.")
        process.stdin.close()
        assert _Hanging.arrived.wait(60), "the grading request never came"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130  # before: it joined the grading call, for up to 300 s
        assert "Stopped waiting" in process.stderr.read()
    finally:
        _Hanging.release.set()
        process.kill()
        server.shutdown()
        server.server_close()
    assert _db(home, "SELECT status FROM sessions") == [("interrupted",)]


# --- what a candidate reads -------------------------------------------------------------------------


def test_a_skipped_answer_shows_as_skipped_and_grade_says_so(cli):
    cli("mock", "-n", "2", "--grader", "offline", input="An answer.\n---\n")
    table = cli("history").stdout
    assert "skipped" in table and "pending" not in table
    graded = cli("grade", "latest")
    assert graded.exit_code == 0
    assert "1 skipped" in graded.stdout


def test_a_practice_grade_that_failed_in_the_terminal_exits_1(terminal, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("max_retries = 0\n")
    keys = GOOD_ADAM + "\x04" + "n\r"  # answer; no retry (a failed grade asks for no rating)
    result = terminal(
        keys, "practice", "optimization/adam", "--base-url", "http://127.0.0.1:1/v1", "--model", "m"
    )
    assert result.exit_code == 1, result.stderr  # before: 0, though given answers exit 1
    assert "--grader offline` grades now" in result.stderr
    assert _db(home, "SELECT a.text, g.status FROM answers a JOIN grades g ON g.answer_id = a.id") == [
        (GOOD_ADAM, "failed")
    ]


def test_an_endpoint_down_says_how_to_grade_now_and_regrade_later(cli, home, respx_mock, monkeypatch):
    from llm_fakes import BASE

    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("max_retries = 0\n")
    respx_mock.post(f"{BASE}/chat/completions").mock(side_effect=httpx.ConnectError("refused"))
    result = cli("mock", "-n", "2", input="An answer.\n---\nAnother.")
    assert result.exit_code == 1
    assert "Total none" in result.stdout and "Total pending" not in result.stdout
    assert "2 answer(s) could not be graded" in result.stdout
    [hint] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert hint.startswith("error: cannot connect to ")
    assert "--grader offline` grades now" in hint and "--all` regrades with the LLM later" in hint
    practice = cli("practice", "optimization/adam", input=GOOD_ADAM)
    assert "--grader offline` grades now" in practice.stderr


def test_a_practice_retry_says_what_changed_since_the_previous_attempt(terminal):
    keys = (
        "Adam is an optimizer.\x04" + "\r" + "y\r" + " " + GOOD_ADAM + "\x04" + "n\r"
    )  # Enter: the grade's rating
    result = terminal(keys, "practice", "optimization/adam", "--grader", "offline")
    assert result.exit_code == 0, result.stderr
    since = result.stdout.split("Since your last attempt:")[1]
    assert "→" in since and "Newly covered:" in since


# --- the editors -----------------------------------------------------------------------------------


class _Screen(io.StringIO):
    """A terminal's screen that types `keys` once `text` appears on it."""

    def __init__(self, pipe, text: str, keys: str):
        super().__init__()
        self.pipe, self.text, self.keys, self.typed = pipe, text, keys, False

    def write(self, data: str) -> int:
        written = super().write(data)
        if not self.typed and self.text in self.getvalue():
            self.typed = True
            self.pipe.send_text(self.keys)
        return written


def _editor(monkeypatch, code: str) -> None:
    """$EDITOR: a program that runs `code` with the file to edit as `path`."""
    program = f"import sys; path = sys.argv[1]; {code}"
    monkeypatch.setenv("EDITOR", f"{sys.executable} -c {program!r}")
    monkeypatch.delenv("VISUAL", raising=False)


@pytest.mark.parametrize("timed", [False, True])
def test_ctrl_x_ctrl_e_brings_the_text_back_to_the_answer_box(monkeypatch, timed):
    _editor(monkeypatch, "open(path, 'a').write(' and more')")
    with create_pipe_input() as pipe:
        screen = _Screen(pipe, "and more", " to check\x04")
        output = Vt100_Output(screen, lambda: Size(rows=24, columns=100))
        watchdog = threading.Timer(60, pipe.send_text, args=("\x04",))  # ends the test if it fails
        watchdog.start()
        pipe.send_text("first\x18\x05")
        try:
            if timed:
                text = ui.timed_answer("Q1/1", 300, input=pipe, output=output).text
            else:
                text = ui.edit_answer(input=pipe, output=output)
        finally:
            watchdog.cancel()
    assert text == "first and more to check"


def test_time_running_out_in_the_external_editor_keeps_what_was_written_there(monkeypatch):
    # The editor is still open when the clock runs out (0.3 s): what it hands back is the answer.
    _editor(monkeypatch, "import time; time.sleep(1.5); open(path, 'a').write(' and more')")
    with create_pipe_input() as pipe:
        pipe.send_text("before\x18\x05")
        reply = ui.timed_answer("Q1/1", 0.3, input=pipe, output=DummyOutput())
    assert (reply.text, reply.outcome) == ("before and more", "timed_out")


@pytest.mark.parametrize("columns", [80, 60, 30])
def test_the_countdown_fits_the_terminal(columns):
    toolbar = ui.countdown_toolbar("Q1/5 · neural-networks", 300, 12.0, columns)
    text = "".join(piece for _, piece in toolbar)
    assert text.startswith(" 4:48 left ") and len(text) < columns
    if columns == 80:  # room for every key, in their short form
        assert text.endswith("Ctrl-D submit · Ctrl-N skip · Ctrl-C end")


def test_the_editor_wraps_lines_between_words():
    import re

    text = "the actual gradient of the loss is computed by backprop and the actual step is taken"
    screen = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(text + "\x04")
        answer = ui.edit_answer(
            input=pipe, output=Vt100_Output(screen, lambda: Size(rows=24, columns=30), enable_cpr=False)
        )
    assert answer == text
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).replace("\r\n", "\n").replace("\r", "")
    rows = drawn[drawn.rindex("›") + 1 :].split("\n")
    words = [word for row in rows for word in row.split()]
    assert words == text.split(), rows
