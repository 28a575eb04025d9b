"""SIGTERM or SIGHUP while an answer is being typed: the draft is saved, as Ctrl-C saves it.

The real command runs in a pseudo-terminal, so its editor is the real prompt_toolkit application."""

import fcntl
import json
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time

import pytest

ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>78])")


class Terminal:
    """A command in a pseudo-terminal of 24 rows by 100 columns, read as a user watches it."""

    def __init__(self, *args: str, env: dict[str, str]):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "interviewer", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: str, within: float = 60.0) -> None:
        """Read until `text` shows after what was seen before (escape sequences left out)."""
        start = len(self.seen)
        while text.encode() not in ANSI.sub(b"", self.seen[start:]):
            ready, _, _ = select.select([self.master], [], [], within)
            assert ready, f"{text!r} never showed; the screen so far: {self.seen[-2000:]!r}"
            try:
                self.seen += os.read(self.master, 65536)
            except OSError:  # the command ended and the terminal closed
                raise AssertionError(f"{text!r} never showed: {self.seen[-2000:]!r}") from None

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def exit_code(self) -> int:
        try:
            while chunk := os.read(self.master, 65536):
                self.seen += chunk
        except OSError:  # the command ended and the terminal closed
            pass
        code = self.process.wait(timeout=60)
        os.close(self.master)
        return code


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_typing_a_practice_answer_saves_the_draft(home, stop):
    terminal = Terminal("practice", "optimization/adam", "--grader", "offline", env=dict(os.environ))
    terminal.wait_for("›")  # the editor is up
    terminal.type("Adam keeps moving averages")
    terminal.wait_for("Adam keeps moving averages")  # and has it
    terminal.process.send_signal(stop)
    assert terminal.exit_code() == 128 + stop
    screen = ANSI.sub(b"", terminal.seen).decode(errors="replace")
    assert f"stopped by {stop.name}: what you had typed is saved" in screen and "Traceback" not in screen
    rows = sqlite3.connect(home / "interviewer.db").execute("SELECT text FROM answers").fetchall()
    assert rows == [("Adam keeps moving averages",)]


def test_sigterm_in_a_mock_interview_saves_the_draft_and_the_interview_resumes(home):
    env = dict(os.environ)
    terminal = Terminal("mock", "-n", "2", "--seed", "1", "--grader", "offline", env=env)
    terminal.wait_for("Ready?")
    terminal.type("\r")
    terminal.wait_for("›")  # the timed editor is up
    terminal.type("A first answer")
    terminal.wait_for("A first answer")  # and has it
    terminal.process.send_signal(signal.SIGTERM)
    assert terminal.exit_code() == 143
    assert "mock --resume" in ANSI.sub(b"", terminal.seen).decode(errors="replace")

    assert _resumed(env, "A second answer.") == ["graded", "graded"]
    rows = sqlite3.connect(home / "interviewer.db").execute("SELECT text FROM answers ORDER BY id")
    assert rows.fetchall() == [("A first answer",), ("A second answer.",)]


def _resumed(env: dict[str, str], answer: str) -> list[str]:
    """`mock --resume latest` given its last answer: each question's status."""
    resumed = subprocess.run(
        [sys.executable, "-m", "interviewer", "mock", "--resume", "latest", "--grader", "offline", "--json"],
        input=answer,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stderr
    return [q["status"] for q in json.loads(resumed.stdout)["questions"]]


# Without the editor (--json in a terminal), the answer is typed at the terminal's line discipline.


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_while_typing_a_practice_answer_without_the_editor_saves_it(home, stop):
    """SIGTERM and SIGHUP ended the process at once, and what was typed was lost."""
    terminal = Terminal(
        "practice", "optimization/adam", "--grader", "offline", "--json", env=dict(os.environ)
    )
    terminal.wait_for("end it with Ctrl-D")
    terminal.type("Adam keeps moving averages\n")
    terminal.wait_for("Adam keeps moving averages")  # echoed by the terminal, then read by the command
    time.sleep(1)
    terminal.process.send_signal(stop)
    assert terminal.exit_code() == 128 + stop
    screen = ANSI.sub(b"", terminal.seen).decode(errors="replace")
    assert "Saved your answer" in screen and "Traceback" not in screen
    rows = sqlite3.connect(home / "interviewer.db").execute("SELECT text FROM answers").fetchall()
    assert rows == [("Adam keeps moving averages\n",)]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_while_typing_a_mock_script_keeps_the_answers_and_the_interview_resumes(home, stop):
    """Ctrl-C (or a signal) while the answers of `mock --json` were typed lost them all: no session."""
    env = dict(os.environ)
    terminal = Terminal("mock", "-n", "3", "--seed", "1", "--grader", "offline", "--json", env=env)
    terminal.wait_for("end with Ctrl-D")
    terminal.type("A first answer.\n---\nA second, unfinished\n")
    terminal.wait_for("A second, unfinished")
    time.sleep(1)
    terminal.process.send_signal(stop)
    assert terminal.exit_code() == 128 + stop
    assert "Traceback" not in ANSI.sub(b"", terminal.seen).decode(errors="replace")
    db = sqlite3.connect(home / "interviewer.db")
    assert db.execute("SELECT status FROM sessions").fetchall() == [("interrupted",)]
    rows = db.execute("SELECT text, skipped FROM answers ORDER BY id").fetchall()
    assert rows == [("A first answer.", 0), ("A second, unfinished", 0)]

    assert _resumed(env, "A third answer.") == ["graded"] * 3


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_at_the_rating_closes_the_practice_session_as_ctrl_c_does(home, stop):
    """It killed the process at once: the graded answer stayed, its session 'active' for ever."""
    terminal = Terminal("practice", "optimization/adam", "--grader", "offline", env=dict(os.environ))
    terminal.wait_for("›")
    terminal.type("Adam keeps moving averages of the gradient and of its square.")
    terminal.wait_for("square.")
    terminal.type("\x1b\r")  # Esc Enter submits
    terminal.wait_for("Rating:")
    terminal.process.send_signal(stop)
    assert terminal.exit_code() == 128 + stop
    screen = ANSI.sub(b"", terminal.seen).decode(errors="replace")
    assert f"Stopped by {stop.name}." in screen and "saved" in screen and "Traceback" not in screen
    db = sqlite3.connect(home / "interviewer.db")
    assert db.execute("SELECT status, ended_at IS NOT NULL FROM sessions").fetchall() == [("completed", 1)]
    assert db.execute("SELECT status FROM grades").fetchall() == [("graded",)]


def test_sigterm_at_ready_starts_no_interview(home):
    terminal = Terminal("mock", "-n", "2", "--grader", "offline", env=dict(os.environ))
    terminal.wait_for("Ready?")
    terminal.process.send_signal(signal.SIGTERM)
    assert terminal.exit_code() == 143
    screen = ANSI.sub(b"", terminal.seen).decode(errors="replace")
    assert "Stopped by SIGTERM." in screen and "Traceback" not in screen
    assert not (home / "interviewer.db").exists() or sqlite3.connect(home / "interviewer.db").execute(
        "SELECT count(*) FROM sessions"
    ).fetchone() == (0,)
