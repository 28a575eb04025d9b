"""Session reports: contents, escaping of hostile text, secrets, and the HTML in a real browser."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser

import httpx
import pytest

HOSTILE_ANSWER = (
    "Dropout zeroes random units with probability p during training, so units cannot co-adapt.\n"
    "<script>document.title='PWNED'</script>\n"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned', 1)\">\n"
    "[click me](javascript:alert(1)) ``` # not a heading\n"
    "| not | a | table |"
)
HOSTILE_BANK = textwrap.dedent(
    """
    topic = "evil"

    [[questions]]
    id = "evil/xss"
    difficulty = "easy"
    prompt = "What does <script>alert('prompt')</script> do?"
    reference = "<img src=y onerror=\\"document.body.setAttribute('data-pwned-ref', 1)\\"> It runs code."
    note = "<b onmouseover=alert(1)>note</b>"

    [[questions.key_points]]
    point = "<svg onload=alert(1)> runs code"
    weight = 1
    terms = ["run | execute", "code | javascript"]
    """
)


RAW_TAG = re.compile(r"(?<!\\)<(script|img|svg|b)\b", re.I)  # a tag Markdown would pass through as HTML


FENCED = re.compile(r"(`{3,})text\n.*?\n\1", re.S)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.handlers, self.text = [], [], io.StringIO()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.lower().startswith("on")]

    def handle_data(self, data):
        self.text.write(data)


def _session_with_hostile_text(cli, tmp_path):
    bank = tmp_path / "evil.toml"
    bank.write_text(HOSTILE_BANK)
    cli("practice", "regularization/dropout", input=HOSTILE_ANSWER)
    assert (
        cli(
            "practice", "evil/xss", "--bank", str(bank), input="It runs javascript code <script>x</script>"
        ).exit_code
        == 0
    )


def test_html_report_shows_hostile_text_as_text(cli, tmp_path):
    _session_with_hostile_text(cli, tmp_path)
    texts = {}
    for attempt in json.loads(cli("history", "--json").stdout)["attempts"]:
        html = cli("report", attempt["session_id"], "--format", "html").stdout
        parsed = _Tags()
        parsed.feed(html)
        assert "script" not in parsed.tags and "img" not in parsed.tags and "b" not in parsed.tags
        assert parsed.handlers == []
        assert "Content-Security-Policy" in html
        texts[attempt["question_id"]] = parsed.text.getvalue()
    assert "<script>document.title='PWNED'</script>" in texts["regularization/dropout"]
    assert "<script>alert('prompt')</script>" in texts["evil/xss"]
    assert "<svg onload=alert(1)> runs code" in texts["evil/xss"]


def test_markdown_report_shows_hostile_text_as_text(cli, tmp_path):
    _session_with_hostile_text(cli, tmp_path)
    sessions = {
        a["question_id"]: a["session_id"] for a in json.loads(cli("history", "--json").stdout)["attempts"]
    }
    md = cli("report", sessions["regularization/dropout"]).stdout
    # The answer is kept verbatim inside a fence longer than any backtick run in it.
    assert "````text\n" + HOSTILE_ANSWER + "\n````" in md
    outside = md.replace("````text\n" + HOSTILE_ANSWER + "\n````", "")
    assert not RAW_TAG.search(outside)
    bank_md = cli("report", sessions["evil/xss"]).stdout
    assert "\\<script\\>alert('prompt')\\</script\\>" in bank_md
    assert not RAW_TAG.search(FENCED.sub("", bank_md)) and "\\<svg onload=alert(1)\\> runs code" in bank_md


def test_json_report_has_a_schema_version_and_everything_asked(cli):
    cli("mock", "-n", "2", "--seed", "3", input="Some answer about it.\n---\n")
    doc = json.loads(cli("report", "latest", "--format", "json").stdout)
    assert doc["schema_version"] == 2
    assert {"id", "mode", "status", "grader", "started_at", "time_limit_per_question", "time_used"} <= set(
        doc["session"]
    )
    first, second = doc["questions"]
    assert {"prompt", "answer", "time_used", "time_limit", "score", "reference", "grade", "previous"} <= set(
        first
    )
    assert {"key_points", "errors", "strengths", "improvements"} <= set(first["grade"])
    assert second["status"] == "skipped" and second["score"] == 0
    assert doc["counts"]["graded"] == 1 and doc["counts"]["skipped"] == 1


def test_failed_and_pending_grades_are_marked_never_zero(cli, monkeypatch, respx_mock, home):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.test/v1")
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("max_retries = 0\n")
    respx_mock.post("http://llm.test/v1/chat/completions").mock(return_value=httpx.Response(401, json={}))
    cli("practice", "optimization/adam", input="Adam uses moving averages.")
    doc = json.loads(cli("report", "latest", "-f", "json").stdout)
    assert doc["questions"][0]["status"] == "failed" and doc["questions"][0]["score"] is None
    assert doc["total"] is None
    md = cli("report", "latest").stdout
    assert "**Not graded: grading failed.**" in md and "refused the API key (401)" in md
    assert "**Total score:** not graded yet" in md
    html = cli("report", "latest", "-f", "html").stdout
    assert "not graded: grading failed" in html.lower() and "not graded yet" in html


def test_a_second_attempt_reports_what_changed(cli):
    cli("practice", "regularization/dropout", input="It is a regularization method.")
    better = (
        "During training each unit is zeroed at random with probability p, so units cannot co-adapt and "
        "must learn redundant features; it works like an ensemble of thinned networks."
    )
    cli("practice", "regularization/dropout", input=better)
    doc = json.loads(cli("report", "latest", "-f", "json").stdout)
    previous = doc["questions"][0]["previous"]
    assert previous["score_change"] > 0
    assert previous["newly_covered"]
    assert "Since your last attempt" in cli("report", "latest").stdout


def test_secrets_never_reach_a_report(cli, monkeypatch, respx_mock):
    key = "sk-live-SECRET-abcdefghijklmnop"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.test/v1")  # URL credentials are refused
    respx_mock.post("https://llm.test/v1/chat/completions").mock(return_value=httpx.Response(500, json={}))
    cli("practice", "optimization/adam", input="An answer.")
    for fmt in ("md", "html", "json"):
        out = cli("report", "latest", "-f", fmt).stdout
        assert key not in out
        # Nor the endpoint's URL, which the stored reason for the failure names.
        assert "llm.test" not in out and "the endpoint answered HTTP 500" in out


def test_report_writes_a_file_and_rejects_bad_input(cli, tmp_path):
    cli("practice", "optimization/adam", input="An answer.")
    target = tmp_path / "report.html"
    result = cli("report", "latest", "-f", "html", "-o", str(target))
    assert result.exit_code == 0 and target.read_text().startswith("<!doctype html>")
    assert cli("report", "latest", "-f", "pdf").exit_code == 2
    assert "no session 'nope'" in cli("report", "nope").stderr
    assert "cannot write" in cli("report", "latest", "-o", str(tmp_path / "no" / "dir" / "r.md")).stderr


def test_without_format_the_output_file_s_name_chooses_it(cli, tmp_path):
    """`-o report.json` wrote Markdown into report.json."""
    cli("practice", "optimization/adam", input="An answer.")
    for name, start in [
        ("r.html", "<!doctype html>"),
        ("r.JSON", "{"),
        ("r.md", "# Interview"),
        ("r.txt", "# "),
    ]:
        assert cli("report", "latest", "-o", str(tmp_path / name)).exit_code == 0
        assert (tmp_path / name).read_text().startswith(start), name
    assert json.loads((tmp_path / "r.JSON").read_text())["schema_version"] == 2
    cli("report", "latest", "-f", "md", "-o", str(tmp_path / "r.html"))  # a format given wins
    assert (tmp_path / "r.html").read_text().startswith("# Interview")


def test_report_to_dash_prints_instead_of_writing_a_file_named_dash(cli, tmp_path, monkeypatch):
    cli("practice", "optimization/adam", input="An answer.")
    monkeypatch.chdir(tmp_path)
    result = cli("report", "latest", "-f", "json", "-o", "-")
    assert result.exit_code == 0 and json.loads(result.stdout)["schema_version"] == 2
    assert not (tmp_path / "-").exists()


def _with_file_size_limit(limit):
    """For a child process: writing a file past `limit` bytes fails (EFBIG), as a full disk does."""
    import resource
    import signal

    def limit_it():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_it


def test_a_report_that_cannot_be_written_whole_leaves_the_earlier_file(cli, home, tmp_path):
    cli("practice", "optimization/adam", input="Adam keeps moving averages of the gradient and its square.")
    target = tmp_path / "report.md"
    target.write_text("the report I kept\n")
    target.chmod(0o640)
    command = [sys.executable, "-m", "interviewer", "report", "latest", "-o", str(target)]
    env = {**os.environ, "INTERVIEWER_HOME": str(home)}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, preexec_fn=_with_file_size_limit(1000)
    )
    assert done.returncode == 2 and done.stderr == f"error: {target}: cannot write: File too large\n"
    assert target.read_text() == "the report I kept\n"  # not its first 1000 bytes of the new one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "report.md"]  # no temporary file left
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and target.read_text().startswith("# Interview report")
    assert target.stat().st_mode & 0o777 == 0o640


# --- the HTML in headless Chromium ---------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("INTERVIEWER_REQUIRE_CHROMIUM") == "1"


def _chromium(*args, tmp_path):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(
    not CHROMIUM and not REQUIRED, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_the_html_report_in_a_real_browser_runs_no_script_and_draws_its_charts(cli, tmp_path):
    assert CHROMIUM, "chromium is required here (INTERVIEWER_REQUIRE_CHROMIUM=1)"
    from PIL import Image

    bank = tmp_path / "evil.toml"
    bank.write_text(HOSTILE_BANK)
    cli("practice", "regularization/dropout", input=HOSTILE_ANSWER)
    page = tmp_path / "report.html"
    history = json.loads(cli("history", "--json").stdout)["attempts"]
    cli("report", history[0]["session_id"], "-f", "html", "-o", str(page))

    dom = _chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path).stdout
    assert "<svg" in dom and 'class="bar ' in dom
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0], "a script in the answer ran"
    assert "<title>Interview report" in dom and "PWNED" not in dom.split("</title>")[0]

    shot = tmp_path / "shot.png"
    _chromium(
        "--window-size=420,2400",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        page.as_uri(),
        tmp_path=tmp_path,
    )
    image = Image.open(shot).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 24)}
    bar_colours = {(0x2F, 0x85, 0x5A), (0xB7, 0x79, 0x1F), (0xC5, 0x30, 0x30)}
    assert colours & bar_colours, "no chart bar was drawn"


@pytest.mark.skipif(
    not CHROMIUM and not REQUIRED, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_a_long_word_in_the_html_report_wraps_instead_of_widening_the_page(cli, tmp_path):
    """A word or URL with no space (quoted as evidence, in a key point, in an id) breaks inside the
    card: it made the page 1774 px wide in a 1200 px window, behind a horizontal scrollbar."""
    assert CHROMIUM, "chromium is required here (INTERVIEWER_REQUIRE_CHROMIUM=1)"
    word = "x" * 300
    answer = f"Adam keeps moving averages of the gradient and its square, {word}, with bias correction."
    assert cli("practice", "optimization/adam", input=answer).exit_code == 0
    page = tmp_path / "report.html"
    cli("report", "latest", "-f", "html", "-o", str(page))
    html = page.read_text()
    assert re.search(r'<q class="evidence">[^<]*x{100}', html), "the long word is quoted as evidence"
    # Measure the laid-out page: a copy of it with a script (its CSP would block one) that writes
    # the document's width into the DOM that --dump-dom prints.
    probe = tmp_path / "probe.html"
    probe.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace(
            "</body>",
            "<script>document.body.dataset.width = document.documentElement.scrollWidth + '/' + "
            "window.innerWidth</script></body>",
        )
    )
    for width in (1200, 500):
        dom = _chromium(
            f"--window-size={width},2000",
            "--hide-scrollbars",
            "--dump-dom",
            probe.as_uri(),
            tmp_path=tmp_path,
        ).stdout
        scroll, window = map(int, re.search(r'data-width="(\d+)/(\d+)"', dom).groups())
        assert scroll <= window, f"the page is {scroll} px wide in a {window} px window"


def test_reports_say_why_an_error_is_wrong_and_what_the_grader_overturned(cli, home):
    from interviewer.grading.model import Grade
    from interviewer.store import Store

    cli(
        "practice",
        "evaluation/accuracy-f1-auc",
        input="Accuracy is always the best metric, whatever the data.",
    )
    grade = Grade.model_validate(
        json.loads(cli("report", "latest", "--format", "json").stdout)["questions"][0]["grade"]
    )
    [error] = grade.errors
    assert error.why and error.why.startswith("Wrong")
    for fmt in ("md", "html"):
        assert error.why.split(":")[0] in cli("report", "latest", "--format", fmt).stdout

    # What a grader's own checks changed (the LLM grader's overturned quotes) is shown with the grade.
    store = Store.open(home)
    [attempt] = store.attempts()
    note = "Quotes for 2 of 3 points were not in the answer, so those points count as missing"
    store.add_grade(attempt.answer_id, grade.model_copy(update={"notes": [note]}).model_dump(mode="json"))
    for fmt in ("md", "html"):
        assert note in cli("report", "latest", "--format", fmt).stdout
