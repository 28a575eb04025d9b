"""Text from users, banks and models reaches the terminal as it is, never obeyed: rich markup is shown,
not read, and control characters (ESC, BEL, C1...) are shown as visible stand-ins."""

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import respx
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from llm_fakes import ANSWER, BASE, completion, practice_json, reply

# What the terminal must never receive raw: every C0 control but tab and newline, DEL, every C1, and
# the bidirectional embeddings, overrides and isolates.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CLIPBOARD = "\x1b]52;c;UFdORUQ=\x07"  # OSC 52: writes "PWNED" to the clipboard
CLEAR = "\x1b[2J"
LINK = "\x1b]8;;http://evil.test\x1b\\click\x1b]8;;\x1b\\"  # OSC 8: a hyperlink
HOSTILE = f"moving averages {CLIPBOARD} of the gradient {CLEAR} {LINK}"
SHOWN = "moving averages ␛]52;c;UFdORUQ=␇ of the gradient ␛[2J"
MARKUP = "[/] closes [red]nothing[/red], [link=http://evil.test]here[/link] ["


def assert_inert(output: str) -> None:
    found = RAW_CONTROL.search(output)
    assert found is None, (
        f"raw {found.group()!r} reaches the terminal: {output[max(0, found.start() - 40) :]!r}"
    )


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` exactly, whatever characters it has."""
    return '"' + "".join(c if " " <= c <= "~" and c not in '"\\' else f"\\U{ord(c):08X}" for c in text) + '"'


def write_bank(path, *, prompt="What does Adam keep?", reference="Moving averages.", point="Moving averages"):
    path.write_text(
        'topic = "hostile"\n[[questions]]\nid = "hostile/adam"\ndifficulty = "easy"\n'
        f"prompt = {toml_string(prompt)}\nreference = {toml_string(reference)}\nnote = {toml_string(reference)}\n"
        f'[[questions.key_points]]\npoint = {toml_string(point)}\nterms = ["moving average"]\n'
        f'[[questions.misconceptions]]\npoint = {toml_string(point)}\nwhy = {toml_string(reference)}\nterms = ["sgd"]\n'
    )
    return path


@pytest.fixture
def endpoint(monkeypatch, respx_mock):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return respx_mock.post(f"{BASE}/chat/completions")


# --- markup (issue 9, item 4) ---------------------------------------------------------------------


def test_a_model_named_in_markup_leaves_history_working(cli, endpoint):
    endpoint.mock(return_value=completion(reply()))
    for model in ("[/]", "[link=http://evil.test]m", "[red]m"):
        result, grade = practice_json(cli, ANSWER, "--model", model)
        assert grade["grader"] == f"llm:{model}"
    history = cli("history")
    assert history.exit_code == 0
    for model in ("[/]", "[link=http://evil.test]m", "[red]m"):
        assert f"llm:{model}" in history.stdout


def test_markup_in_a_bank_is_shown_as_written(cli, tmp_path):
    bank = write_bank(tmp_path / "b.toml", prompt=MARKUP, point=MARKUP)
    shown = cli("bank", "show", "hostile/adam", "--bank", str(bank))
    assert shown.exit_code == 0
    assert shown.stdout.count(MARKUP) == 3, shown.stdout  # the prompt, the key point, the misconception


class _Model(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint for a subprocess (respx patches only this process)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = completion(reply()).content
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def model_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def read_until(terminal: int, wanted: bytes, seen: bytearray) -> bool:
    """Read what the program shows until `wanted` appears (True) or the program ends (False)."""
    while wanted not in seen:
        if not select.select([terminal], [], [], 60)[0]:
            return False  # a guard against a hung program, not a clock the test races
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the program closed its terminal
            return False
        if not chunk:
            return False
        seen += chunk
    return True


def test_interactive_practice_grades_with_a_model_named_in_markup(tmp_path):
    # The spinner shown while the model grades read its label as markup: "[/]" was a traceback.
    terminal, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {
        "PATH": os.environ["PATH"],
        "INTERVIEWER_HOME": str(tmp_path),
        "NO_COLOR": "1",
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # nobody answers a cursor position request here
    }
    seen = bytearray()
    with model_server() as url:
        command = ["practice", "optimization/adam", "--base-url", url, "--model", "[/][red]m"]
        program = subprocess.Popen(
            [sys.executable, "-m", "interviewer", *command], stdin=child, stdout=child, stderr=child, env=env
        )
        os.close(child)
        try:
            assert read_until(terminal, "›".encode(), seen), seen.decode(errors="replace")
            os.write(terminal, ANSWER.encode() + b"\x04")  # Ctrl-D submits
            assert read_until(terminal, b"Rating: ", seen), seen.decode(errors="replace")
            os.write(terminal, b"\r")  # keeps the grade's rating for the schedule
            assert read_until(terminal, b"Try again?", seen), seen.decode(errors="replace")
            os.write(terminal, b"n\r")
            read_until(terminal, b"never shown", seen)  # to the end
        finally:
            if program.poll() is None:
                program.kill()
            program.wait()
            os.close(terminal)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))  # styles, cursor moves
    assert program.returncode == 0, shown
    assert "Score 10/10  (llm:[/][red]m)" in shown


# --- control characters (issue 9, item 5) ------------------------------------------------------------


def test_an_answer_is_shown_and_reported_inert_and_stored_exactly(cli, tmp_path):
    answer = f"Adam keeps {HOSTILE}.\n"
    (tmp_path / "e.txt").write_text(answer)
    result = cli(
        "practice", "optimization/adam", "--grader", "offline", "--answer-file", str(tmp_path / "e.txt")
    )
    assert result.exit_code == 0
    assert_inert(result.stdout)
    assert SHOWN in result.stdout  # quoted as the evidence of a key point
    assert json.loads(cli("report", "-f", "json").stdout)["questions"][0]["answer"] == answer

    printed = cli("report", "-f", "md").stdout
    assert cli("report", "-f", "md", "-o", str(tmp_path / "r.md")).exit_code == 0
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == printed  # a file holds what is printed
    for report in (printed, cli("report", "-f", "html").stdout):
        assert_inert(report)
        assert SHOWN in report


def test_a_bidirectional_override_in_an_answer_is_shown_not_obeyed(cli, tmp_path):
    """U+202E reverses the rest of the line on screen: a quote could read in another order."""
    answer = "Adam keeps moving averages \u202eof the gradient\u202c and of its square.\n"
    (tmp_path / "b.txt").write_text(answer, encoding="utf-8")
    result = cli(
        "practice", "optimization/adam", "--grader", "offline", "--answer-file", str(tmp_path / "b.txt")
    )
    assert result.exit_code == 0
    for output in (result.stdout, cli("report", "-f", "md").stdout, cli("report", "-f", "html").stdout):
        assert_inert(output)
        assert "moving averages \\u202eof the gradient\\u202c and" in output
    assert json.loads(cli("report", "-f", "json").stdout)["questions"][0]["answer"] == answer


def test_escape_sequences_in_a_bank_are_shown_not_obeyed(cli, tmp_path):
    bank = write_bank(tmp_path / "b.toml", prompt=HOSTILE, reference=HOSTILE, point=HOSTILE)
    listed = cli("bank", "list", "--bank", str(bank))
    shown = cli("bank", "show", "hostile/adam", "--bank", str(bank))
    for result in (listed, shown):
        assert result.exit_code == 0
        assert_inert(result.stdout)
        assert SHOWN in result.stdout


def test_escape_sequences_from_a_model_are_shown_not_obeyed(cli, endpoint, tmp_path):
    endpoint.mock(
        return_value=completion(reply(errors=[HOSTILE], strengths=[HOSTILE], improvements=[HOSTILE]))
    )
    graded = cli("practice", "optimization/adam", input=ANSWER)
    assert graded.exit_code == 0
    assert_inert(graded.stdout)
    assert graded.stdout.count(SHOWN) == 3  # the error, the strength, what to improve

    endpoint.mock(return_value=httpx.Response(400, json={"error": {"message": HOSTILE}}))
    answers = tmp_path / "answers.txt"
    answers.write_text(ANSWER)
    failed = [
        cli("practice", "optimization/adam", input=ANSWER),
        cli("grade", "latest", "--all"),
        cli("mock", "-n", "1", "--topic", "optimization", "--answers", str(answers)),
    ]
    for result in failed:
        assert result.exit_code == 1
        assert_inert(result.stdout + result.stderr)
        assert "␛[2J" in result.stdout  # the reason is there to read, inert


def test_json_output_keeps_text_exact_and_escapes_every_control(cli, endpoint):
    c1 = "\x9b2J and \x7f"  # json.dumps leaves DEL and C1 raw unless asked to escape all non-ASCII
    endpoint.mock(return_value=completion(reply(strengths=[c1])))
    result, grade = practice_json(cli, ANSWER)
    assert_inert(result.stdout)
    assert grade["strengths"] == [c1]
    report = cli("report", "-f", "json").stdout
    assert_inert(report)
    assert json.loads(report)["questions"][0]["grade"]["strengths"] == [c1]


# --- every renderer, fed random hostile text ---------------------------------------------------------

PIECES = [CLIPBOARD, CLEAR, LINK, "\x9b31m", "\x07", "\x08", "\r", "\x00", "\x7f", "\x85", "\t", "\n"]
PIECES += ["[/]", "[link=http://evil.test]", "[red]", "[/red]", "[", "]", "\\", "[bold", ":smile:", "{{ x }}"]
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), min_size=1, max_size=8).map(
    "".join
)


def fuzz_reply(text: str, answer: str) -> str:
    """A model's reply on the hostile question, every text of it hostile."""
    return json.dumps(
        {
            "key_points": [{"index": 1, "verdict": "partial", "evidence": answer}],
            "errors": [{"text": text, "severity": "minor"}],
            "strengths": [text],
            "improvements": [text],
            "injection_suspected": False,
        }
    )


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing example is printed as it is
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=hostile, answer=hostile, model=hostile)
@example(text=f"{HOSTILE} {MARKUP}", answer=HOSTILE, model="[/]")
def test_every_renderer_shows_random_hostile_text_inert(cli, tmp_path_factory, text, answer, model):
    folder = tmp_path_factory.mktemp("hostile")
    bank = str(
        write_bank(
            folder / "b.toml", prompt=f"Why {text}?", reference=f"So {text}", point=f"Moving averages {text}"
        )
    )
    answer = f"Adam keeps moving averages of the gradient {answer}"  # its quote can credit the point
    answers = folder / "answer.txt"
    answers.write_text(answer, newline="")
    (folder / "set.jsonl").write_text(json.dumps({"question": "hostile/adam", "answer": answer, "score": 5}))
    llm = ("--grader", "llm", "--base-url", BASE, "--model", model)

    def run(*args: str, exit_code: int = 0) -> None:
        # One home for all examples (the test's): its bank cache stays warm.
        result = cli(*args, env={"OPENAI_API_KEY": "sk-test"})
        assert result.exit_code == exit_code, result.stdout + result.stderr
        assert_inert(result.stdout + result.stderr)

    with respx.mock(assert_all_called=False) as server:
        endpoint = server.post(f"{BASE}/chat/completions")
        endpoint.mock(return_value=completion(fuzz_reply(text, answer)))
        run("bank", "list", "--bank", bank)
        run("bank", "show", "hostile/adam", "--bank", bank)
        run("practice", "hostile/adam", "--bank", bank, *llm, "--answer-file", str(answers))
        run(
            "mock",
            "-n",
            "1",
            "-t",
            "hostile",
            "--bank",
            bank,
            "--grader",
            "offline",
            "--answers",
            str(answers),
        )
        endpoint.mock(return_value=httpx.Response(400, json={"error": {"message": text}}))
        run("grade", "latest", "--all", *llm, exit_code=1)
    for command in (("history",), ("stats",), *(("report", "-f", fmt) for fmt in ("md", "html", "json"))):
        run(*command)
    run("calibrate", "--bank", bank, "--grader", "offline", "--set", str(folder / "set.jsonl"))
    run("doctor", "--grader", "offline", "--model", model)
