"""Secrets stay out of everything interviewer prints, stores or reports, whatever a server echoes back,
and a base URL is checked at the door: no credentials sent, no traceback on a malformed one."""

import base64
import json

import httpx
import pytest
from llm_fakes import ANSWER, BASE, KEY, QUOTES, completion, config, practice_json, reply

# What the SDK would send for http://alice:hunter2-PASSWORD@… (and what an echo would give back).
BASIC = base64.b64encode(b"alice:hunter2-PASSWORD").decode()
SLASHED = base64.b64encode(b"al:pw??>x").decode()  # "YWw6cHc/Pz54"


@pytest.fixture
def endpoint(monkeypatch, respx_mock):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return respx_mock.post(f"{BASE}/chat/completions")


def echoing(build):
    """A server that puts the request's Authorization header into its answer, `build(header)`."""
    return lambda request: build(request.headers["authorization"])


def refusal(text):
    body = json.loads(completion("").content)
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": text}
    return httpx.Response(200, json=body)


def leaked(cli, home, outputs, secrets):
    """Which secrets (in any letter case) appear in the outputs, the reports, history or any stored file."""
    texts = [*outputs, cli("history", "--json").stdout]
    texts += [cli("report", "latest", "-f", fmt).stdout for fmt in ("md", "html", "json")]
    blobs = [path.read_bytes().lower() for path in home.rglob("*") if path.is_file()]
    return [
        secret
        for secret in secrets
        if any(secret.lower() in text.lower() for text in texts)
        or any(secret.lower().encode() in blob for blob in blobs)
    ]


# --- what a server echoes ------------------------------------------------------------------------


def echoed_grade(header):
    """A reply with the header everywhere a model writes: strengths, errors, improvements, and an
    evidence quote long enough to be cut short in the reason it is not credited."""
    content = reply(
        evidence=[f"the request carried this key in its header: {header.split()[-1]}", *QUOTES[1:]],
        errors=[f"The request said {header.upper()}"],
        strengths=[
            f"Seen: {header}",
            f"key={KEY.lower()}",
            f"Basic {BASIC}",
            f"Basic {SLASHED}",
            "Covers the basic idea.",
        ],
        improvements=[f"authorization: {header.lower()}"],
    )
    return completion(content.replace("/", "\\/"))  # as PHP's json_encode writes a slash


def test_an_echoed_key_or_credential_in_a_graded_reply_is_hidden_everywhere(cli, endpoint, home):
    endpoint.side_effect = echoing(echoed_grade)
    result, grade = practice_json(cli)
    assert result.exit_code == 0, result.stderr
    assert grade["status"] == "graded"
    assert grade["strengths"] == [
        "Seen: Bearer ***",
        "key=***",
        "Basic ***",
        "Basic ***",
        "Covers the basic idea.",
    ]
    assert grade["errors"][0]["text"] == "The request said BEARER ***"
    assert grade["improvements"] == ["authorization: bearer ***"]
    assert "\u201cthe request carried this key in its header: ***\u201d" in grade["key_points"][0]["why"]
    secrets = [KEY[:14], BASIC, SLASHED]  # a key cut short still starts like the key
    assert leaked(cli, home, [result.stdout, result.stderr], secrets) == []


def test_a_refusal_that_echoes_the_key_is_stored_redacted_and_a_regrade_leaves_no_trace(cli, endpoint, home):
    endpoint.side_effect = [
        echoing(lambda header: refusal(f"I will not grade for {header.swapcase()}")),
        completion(reply()),
    ]
    failed, grade = practice_json(cli)
    assert failed.exit_code == 1
    assert grade["failure"] == "the model refused to grade: I will not grade for bEARER ***"
    regraded = cli("grade", "latest", "--json")
    assert regraded.exit_code == 0 and json.loads(regraded.stdout)["graded"][0]["status"] == "graded"
    outputs = [failed.stdout, failed.stderr, regraded.stdout, regraded.stderr]
    assert leaked(cli, home, outputs, [KEY[:14]]) == []


def test_an_error_message_that_echoes_the_key_in_another_case_is_hidden(cli, endpoint, home, respx_mock):
    endpoint.side_effect = echoing(
        lambda header: httpx.Response(400, json={"error": {"message": f"bad header {header.upper()}"}})
    )
    result, grade = practice_json(cli)
    assert grade["failure"] == "http://llm.test/v1 rejected the request (HTTP 400): bad header BEARER ***"
    respx_mock.get(f"{BASE}/models").side_effect = echoing(
        lambda header: httpx.Response(400, json={"error": {"message": f"no models for {header.lower()}"}})
    )
    doctor = cli("doctor")
    assert "no models for bearer ***" in doctor.stdout
    assert leaked(cli, home, [result.stdout, result.stderr, doctor.stdout, doctor.stderr], [KEY[:14]]) == []


def test_a_short_placeholder_key_is_hidden_as_a_word_not_inside_words(cli, respx_mock, monkeypatch):
    # Local servers take any key, and "ollama" or "x" is also a word, or part of one, in feedback.
    monkeypatch.setenv("OPENAI_API_KEY", "OLLAMA")
    respx_mock.post(f"{BASE}/chat/completions").mock(
        return_value=completion(reply(strengths=["Ollama saw the key ollama.", "Not inside ollamas."]))
    )
    _, grade = practice_json(cli, ANSWER, "--base-url", BASE)
    assert grade["strengths"] == ["*** saw the key ***.", "Not inside ollamas."]


# --- the base URL --------------------------------------------------------------------------------

CREDENTIALS = [
    "http://alice:hunter2-SECRET@llm.test/v1",
    "http://user:1234/SECRET@127.0.0.1:8765/v1",  # once host "user", port 1234, path "/SECRET@…"
    "http://user:SECRET/x@127.0.0.1/v1",  # once a traceback: port "SECRET"
    "http://user:SE#CRET@127.0.0.1/v1",
    "http://user:SE?CRET@127.0.0.1/v1",
]
MALFORMED = {
    "http://[::1/v1": "the brackets around an IPv6 address do not match",
    "http://127.0.0.1:99999/v1": "its port must be a number from 1 to 65535",
    "http://127.0.0.1:abc/v1": "its port must be a number from 1 to 65535",
}
COMMANDS = {
    "practice": ("practice", "optimization/adam"),
    "mock": ("mock", "-n", "1"),
    "grade": ("grade", "latest"),
    "doctor": ("doctor",),
    "calibrate": ("calibrate", "--set", "checks"),
}


def run_with_url(cli, home, command, source, url):
    """Run a command with the base URL from a flag, the environment or the config file."""
    args, env = list(COMMANDS[command]), None
    if source == "flag":
        args += ["--base-url", url]
    elif source == "environment":
        env = {"OPENAI_BASE_URL": url}
    else:
        config(home, base_url=url)
    return cli(*args, input=ANSWER, env=env)


def refused(result, home, source):
    """The one stderr line of a usage error about the base URL, after its origin."""
    assert result.exit_code == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    origins = {"config": str(home / "config.toml"), "environment": "environment variable OPENAI_BASE_URL"}
    origin = origins.get(source, source)
    prefix = f"error: base URL from {origin} "
    assert line.startswith(prefix), line
    return line.removeprefix(prefix)


@pytest.mark.parametrize(
    ("url", "source"),
    [(url, "flag") for url in CREDENTIALS] + [(CREDENTIALS[1], "environment"), (CREDENTIALS[2], "config")],
)
def test_credentials_in_the_base_url_are_refused_before_anything_is_sent_or_stored(
    cli, home, respx_mock, url, source
):
    sent = respx_mock.route()
    result = run_with_url(cli, home, "practice", source, url)
    assert refused(result, home, source).startswith(
        "holds credentials (user:password@), which interviewer does not send"
    )
    assert "OPENAI_API_KEY" in result.stderr and "SECRET" not in result.stdout + result.stderr
    assert not sent.called and not (home / "interviewer.db").exists()


def is_malformed(line, url):
    return line == f"is not an http(s) URL: {url!r}: {MALFORMED[url]} (e.g. http://localhost:11434/v1)"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_base_url_is_a_one_line_usage_error_in_every_command(cli, home, command):
    if command == "grade":
        cli("practice", "optimization/adam", "--grader", "offline", input=ANSWER)  # a session to grade
    for url in MALFORMED:
        assert is_malformed(refused(run_with_url(cli, home, command, "flag", url), home, "flag"), url)


@pytest.mark.parametrize("source", ["environment", "config"])
def test_a_malformed_base_url_from_the_environment_or_config_file_is_a_usage_error(cli, home, source):
    for url in MALFORMED:
        assert is_malformed(refused(run_with_url(cli, home, "practice", source, url), home, source), url)
