"""Hostile values and inputs: numbers, endless streams, deep or huge TOML, odd files and variables.

Each ends in a one-line error and exit 2 before anything is stored, or is read as the user meant it.
"""

import io
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from interviewer import cli as cli_module
from interviewer import resources, ui
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
    _one_error(result, "timeout from environment variable INTERVIEWER_TIMEOUT", "at most 3600")
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


# --- answers: read no further than the limit ----------------------------------------------------


FEED_CAP = 10_000_000  # bytes: an unbounded read takes them all


def _fed_endlessly(args: list[str], line: bytes) -> tuple[int, str, int]:
    """Run the installed command with `line` repeated on standard input (`yes |`) until it stops
    reading; return its exit code, its standard error, and how many bytes it was given (the pipe's
    buffer included)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "interviewer", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        bufsize=0,  # each write reaches the pipe, so closing it has nothing left to flush
    )
    chunk, fed = line * (65_536 // len(line)), 0
    with process.stdin:
        try:
            while fed < FEED_CAP:
                process.stdin.write(chunk)
                fed += len(chunk)
        except BrokenPipeError:  # the command stopped reading and ended
            pass
    err = process.stderr.read()
    process.wait()
    return process.returncode, err.decode(), fed


@pytest.mark.parametrize(
    ("args", "line", "message"),
    [
        (["practice", "optimization/adam"], b"y\n", "the answer has more than 50,000 characters"),
        (["mock", "-n", "2"], b"y\n", "answer 1 has more than 50,000 characters"),
        (["mock", "-n", "2"], b"---\n", "answers given for 2 questions"),
    ],
)
def test_an_endless_standard_input_is_read_no_further_than_the_limit(home, args, line, message):
    status, stderr, fed = _fed_endlessly([*args, "--grader", "offline"], line)
    assert status == 2 and len(stderr.splitlines()) == 1 and message in stderr, stderr
    assert fed < FEED_CAP / 10
    assert _sessions(home) == 0


@pytest.mark.parametrize(
    "option", [["practice", "optimization/adam", "--answer-file"], ["mock", "--answers"]]
)
def test_an_endless_answer_file_is_refused_after_the_limit(cli, home, option):
    result = cli(*option, "/dev/zero", "--grader", "offline")
    _one_error(result, "has more than 50,000 characters")
    assert _sessions(home) == 0


def test_mock_resume_with_an_empty_id_is_refused_not_a_new_interview(cli, home):
    _one_error(
        cli("mock", "--resume", "", "--grader", "offline", input=ANSWER), "--resume needs a session id"
    )
    assert _sessions(home) == 0


# --- the editor: a paste over the limit is refused, and kept ---------------------------------------


PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # what a terminal sends around pasted text


def _pasted(text: str) -> str:
    return PASTE_START + text + PASTE_END


class _Screen(io.StringIO):
    """A terminal's screen that presses Ctrl-C once `text` appears on it: the test waits for what
    the user sees, not for a time."""

    def __init__(self, pipe, text: str):
        super().__init__()
        self.pipe, self.text, self.pressed = pipe, text, False

    def write(self, data: str) -> int:
        written = super().write(data)
        if not self.pressed and self.text in self.getvalue():
            self.pressed = True
            self.pipe.send_text("\x03")
        return written


def test_the_editor_refuses_to_submit_a_paste_over_the_limit_says_so_and_keeps_it():
    paste = "x" * 60_000
    with create_pipe_input() as pipe, pytest.raises(ui.AnswerCancelled) as cancelled:
        screen = _Screen(pipe, "60,000 characters: shorten the answer to 50,000 to submit it")
        pipe.send_text(_pasted(paste) + "\x04" + "\x1b\r")  # Ctrl-D, Esc Enter: neither submits
        watchdog = threading.Timer(60, pipe.send_text, args=("\x03",))  # ends the test if it fails
        watchdog.start()
        try:
            ui.edit_answer(input=pipe, output=Vt100_Output(screen, lambda: Size(rows=24, columns=80)))
        finally:
            watchdog.cancel()
    assert screen.pressed and cancelled.value.text == paste
    with create_pipe_input() as pipe:
        # The refusal leaves the cursor where the excess begins: Ctrl-K cuts it, and Ctrl-D submits.
        pipe.send_text(_pasted(paste) + "\x04" + "\x0b" + "\x04")
        assert ui.edit_answer(input=pipe, output=DummyOutput()) == "x" * 50_000


def test_the_timed_editor_refuses_to_submit_a_paste_over_the_limit():
    with create_pipe_input() as pipe:
        pipe.send_text(_pasted("y" * 50_001) + "\x04" + "\x1b\r" + "\x08" + "\x04")
        answer = ui.timed_answer("Q1/1", 300, input=pipe, output=DummyOutput())
    assert (answer.text, answer.outcome) == ("y" * 50_000, "submitted")


def test_an_interview_stopped_with_a_paste_over_the_limit_keeps_its_first_50000_characters(
    cli, home, monkeypatch
):
    monkeypatch.setattr(cli_module, "_interactive", lambda: True)
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text("\r" + _pasted("z" * 60_000) + "\x03")  # ready; paste; Ctrl-C
        result = cli("mock", "-n", "1", "--grader", "offline")
    assert result.exit_code == 130
    assert "60,000 characters: its first 50,000 are kept" in result.stderr
    [(length,)] = sqlite3.connect(home / "interviewer.db").execute("SELECT length(text) FROM answers")
    assert length == 50_000


# --- TOML files: bounded before parsing ------------------------------------------------------------


def _bank_text(topic: str = "mine") -> str:
    source = (resources.bank_dir() / "02-optimization.toml").read_text(encoding="utf-8")
    return source.replace('topic = "optimization"', f'topic = "{topic}"').replace(
        '"optimization/', f'"{topic}/'
    )


HOSTILE_TOML = {
    "nested 5,000 deep": ("x = " + "[" * 5_000 + "]" * 5_000 + "\n", "nested more than 32 levels deep"),
    "inline tables 5,000 deep": ("x = " + "{a=" * 5_000 + "1" + "}" * 5_000 + "\n", "nested more than 32"),
    "a 400 KB dotted key": (".".join(["k"] * 200_000) + " = 1\n", "a dotted key has more than 32 parts"),
    "over a megabyte": ("# filler\n" * 120_000, "larger than 1,000,000 bytes"),
}


@pytest.mark.parametrize("case", HOSTILE_TOML)
def test_a_hostile_bank_file_is_one_line_naming_it(cli, tmp_path, case):
    text, message = HOSTILE_TOML[case]
    path = tmp_path / "hostile.toml"
    path.write_text(text)
    _one_error(cli("bank", "validate", str(path)), str(path), message)


@pytest.mark.parametrize("case", HOSTILE_TOML)
def test_a_hostile_config_file_is_one_line_naming_it(cli, home, case):
    text, message = HOSTILE_TOML[case]
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text)
    _one_error(cli("doctor"), str(home / "config.toml"), message)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("deep.toml", HOSTILE_TOML["nested 5,000 deep"][0], "nested more than 32 levels deep"),
        ("long-key.toml", HOSTILE_TOML["a 400 KB dotted key"][0], "a dotted key has more than 32 parts"),
        ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "not valid JSON: nested too deeply"),
    ],
)
def test_a_hostile_labelled_set_is_one_line_naming_it(cli, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    _one_error(cli("calibrate", "--set", str(path)), str(path), message)


def test_a_byte_order_mark_at_the_start_of_a_bank_or_config_file_is_no_content(cli, home, tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + _bank_text().encode())
    assert cli("bank", "validate", str(path)).stdout.startswith("ok: 5 questions")
    home.mkdir(parents=True)
    (home / "config.toml").write_bytes(b"\xef\xbb\xbfgrader = 'offline'\n")
    assert "offline (from " in cli("doctor").stdout


def test_bank_links_that_lead_nowhere_are_reported_not_skipped(cli, tmp_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / "mine.toml").write_text(_bank_text())
    (folder / "dangling.toml").symlink_to("missing.toml")
    (folder / "loop-a.toml").symlink_to("loop-b.toml")
    (folder / "loop-b.toml").symlink_to("loop-a.toml")
    result = cli("bank", "validate", str(folder))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {folder / name}.toml: a symbolic link to {target}.toml that leads to no file"
        for name, target in (("dangling", "missing"), ("loop-a", "loop-b"), ("loop-b", "loop-a"))
    ]


# --- the home folder ----------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_interviewer_home_is_refused_not_the_default_folder(cli, blank):
    _one_error(cli("paths", env={"INTERVIEWER_HOME": blank}), "INTERVIEWER_HOME is set but blank")


@pytest.mark.parametrize("given", ["---\n" + ANSWER, "\n  \n---\n\n", "---\n---\n" + ANSWER])
def test_practice_with_a_follow_up_refuses_an_empty_first_answer(cli, home, given):
    """The first block is the answer: an empty one was graded 0 with exit 0, the next block taken
    as the follow-up's answer."""
    result = cli("practice", "optimization/adam", "--follow-up", "--grader", "offline", input=given)
    _one_error(result, "the answer is empty")
    assert _sessions(home) == 0


def test_practice_with_a_follow_up_refuses_more_than_two_answers(cli, home):
    """A third block was joined to the follow-up's answer, its --- dropped, with exit 0."""
    given = f"{ANSWER}\n---\nThe follow-up's answer.\n---\nA third answer.\n"
    result = cli("practice", "optimization/adam", "--follow-up", "--grader", "offline", input=given)
    _one_error(result, "3 answers given: with --follow-up, give the answer")
    assert _sessions(home) == 0


def test_a_byte_order_mark_at_the_start_of_given_answers_is_no_content(cli, home, tmp_path):
    """Notepad's UTF-8 starts with a byte order mark: it was stored in the answer, and hid a first
    separator (the `---` became part of the answer)."""
    path = tmp_path / "answers.txt"
    path.write_bytes("\ufeff---\nA first answer.\n---\nA second answer.\n".encode())
    result = cli("mock", "-n", "2", "--seed", "3", "--grader", "offline", "--answers", str(path))
    _one_error(result, "3 answers given for 2 questions")  # as without the mark

    path.write_bytes("\ufeffA first answer.\n---\nA second answer.\n".encode())
    assert cli("mock", "-n", "2", "--seed", "3", "--grader", "offline", "--answers", str(path)).exit_code == 0
    cli("practice", "optimization/adam", "--grader", "offline", input="\ufeff" + ANSWER)
    rows = sqlite3.connect(home / "interviewer.db").execute("SELECT text FROM answers ORDER BY id").fetchall()
    assert rows == [("A first answer.",), ("A second answer.",), (ANSWER,)]
