"""Endpoints that misbehave: a reply dripped, broken off, or bombed over a real local socket, and
replies of the wrong shape over respx. Each ends as a failed grade with a reason a user can act on,
through the real CLI and the real openai client."""

import json
import sqlite3

import httpx
import pytest
from faulty_server import FaultyServer, gzip_bomb, head, response
from llm_fakes import ANSWER, BASE, completion, config, practice_json, reply

REPLY = completion(reply()).content  # a reply that grades the answer 10/10 when it arrives whole
TIMEOUT = 0.5  # seconds: the whole request's budget against a dripping server
DRIP = 0.05  # seconds between two bytes: each read is quick, the whole reply would take over 30 s


@pytest.fixture
def serve(home):
    """Start a faulty server and point the settings at it, without retries. The timeout is short only
    where the test waits for it: elsewhere, a busy machine must not turn a fault into a timeout."""
    servers = []

    def start(behave, timeout=30):
        server = FaultyServer(behave)
        servers.append(server)
        config(home, base_url=server.url, max_retries=0, timeout=timeout)
        return server

    yield start
    for server in servers:
        server.stop()


def assert_failed(cli, home, result, grade, reason):
    assert result.exit_code == 1, result.stderr
    assert grade["status"] == "failed" and grade["score"] is None
    assert grade["failure"] == reason
    assert "Traceback" not in result.stderr
    db = sqlite3.connect(home / "interviewer.db")
    assert db.execute("SELECT text FROM answers").fetchall() == [(ANSWER,)], "the answer is kept"


# --- the whole request has one deadline ---------------------------------------------------------


def timed_out(server):
    return (
        f"no reply from {server.url} within {TIMEOUT:g} s (timeout): "
        "try again, or allow longer with INTERVIEWER_TIMEOUT"
    )


def test_a_reply_dripped_a_byte_at_a_time_ends_at_the_timeout(cli, home, serve):
    server = serve(lambda connection: connection.drip(response(REPLY), DRIP), timeout=TIMEOUT)
    result, grade = practice_json(cli)
    assert_failed(cli, home, result, grade, timed_out(server))


def test_a_body_dripped_after_its_headers_ends_at_the_timeout(cli, home, serve):
    def behave(connection):
        connection.send(head(len(REPLY)))
        connection.drip(REPLY, DRIP)

    server = serve(behave, timeout=TIMEOUT)
    result, grade = practice_json(cli)
    assert_failed(cli, home, result, grade, timed_out(server))


REDIRECT = (  # to where the request went: for ever
    b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /v1/chat/completions\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)


def test_a_chain_of_redirects_shares_one_deadline(cli, home, serve):
    def redirect_again(connection):  # each hop quick; the 20 that httpx follows would take 2 s
        if not connection.stopped.wait(0.1):
            connection.send(REDIRECT)

    server = serve(redirect_again, timeout=TIMEOUT)
    result, grade = practice_json(cli)
    assert_failed(cli, home, result, grade, timed_out(server))


def test_doctor_names_the_timeout_of_a_dripping_server(cli, serve):
    server = serve(
        lambda connection: connection.drip(response(b'{"object": "list", "data": []}'), DRIP), timeout=TIMEOUT
    )
    result = cli("doctor")
    assert result.exit_code == 1
    assert f"endpoint          FAILED: {timed_out(server)}" in result.stdout


def test_a_proxy_from_the_environment_is_still_used_and_still_bounded(cli, home, serve, monkeypatch):
    proxy = serve(lambda connection: connection.drip(response(REPLY), DRIP), timeout=TIMEOUT)
    config(home, base_url="http://llm.invalid/v1", max_retries=0, timeout=TIMEOUT)
    monkeypatch.setenv("HTTP_PROXY", proxy.url.removesuffix("/v1"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    _, grade = practice_json(cli)  # without the proxy: "cannot connect" (the name does not resolve)
    assert grade["failure"].startswith("no reply from http://llm.invalid/v1 within 0.5 s (timeout)")


# --- replies too large, broken off, or no HTTP at all --------------------------------------------


def test_a_gzip_bomb_is_refused_past_the_size_limit(cli, home, serve):
    # 16 MB of spaces and then a valid reply, gzipped to about 16 kB: read whole, it would grade.
    bomb = gzip_bomb(16, REPLY)
    server = serve(lambda connection: connection.send(response(bomb, "Content-Encoding: gzip")))
    result, grade = practice_json(cli)
    reason = f"{server.url} sent a reply larger than 8 MB, far more than any grade: check the base URL"
    assert_failed(cli, home, result, grade, reason)


def cut_off_in_the_body(connection):
    connection.send(head(len(REPLY)) + REPLY[: len(REPLY) // 2])


def chunked_cut_off(connection):
    connection.send(head(None, "Transfer-Encoding: chunked") + b"40\r\n{")


@pytest.mark.parametrize(
    ("behave", "reason"),
    [
        (cut_off_in_the_body, "closed the connection before its reply was complete"),
        (chunked_cut_off, "closed the connection before its reply was complete"),
        (lambda connection: None, "took the connection but sent no valid HTTP reply"),
        (
            lambda connection: connection.send(b"SSH-2.0-OpenSSH_9.6\r\n"),
            "took the connection but sent no valid HTTP reply",
        ),
        (
            lambda connection: connection.send(response(b"not gzip at all", "Content-Encoding: gzip")),
            "sent a reply that cannot be decompressed",
        ),
        (lambda connection: connection.send(REDIRECT), "redirected the request again and again"),
    ],
    ids=["content-length", "chunked", "closed-at-once", "not-http", "bad-gzip", "redirect-loop"],
)
def test_a_connection_that_breaks_is_not_called_unreachable(cli, home, serve, behave, reason):
    server = serve(behave)
    result, grade = practice_json(cli)
    assert grade["status"] == "failed" and grade["score"] is None
    assert grade["failure"].startswith(f"{server.url} {reason}"), grade["failure"]
    assert "cannot connect" not in grade["failure"]


def test_doctor_says_the_reply_broke_off(cli, serve):
    server = serve(cut_off_in_the_body)
    result = cli("doctor")
    assert result.exit_code == 1
    assert f"endpoint          FAILED: {server.url} closed the connection before its reply was complete" in (
        result.stdout
    )


# --- replies of the wrong shape -------------------------------------------------------------------


@pytest.fixture
def endpoint(monkeypatch, respx_mock, home):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    config(home, max_retries=0)
    return respx_mock.post(f"{BASE}/chat/completions")


def reply_with(**fields):
    body = json.loads(REPLY)
    body.update(fields)
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(
    ("sent", "problem"),
    [
        (reply_with(choices="a grade"), "`choices` in its reply is a string, not a list"),
        (reply_with(choices=["a grade"]), "`choices[0]` in its reply is a string, not an object"),
        (
            reply_with(choices=[{"index": 0, "message": None, "finish_reason": "stop"}]),
            "`choices[0].message` in its reply is null, not an object",
        ),
        (
            reply_with(choices=[{"index": 0, "message": {"content": 7}, "finish_reason": "stop"}]),
            "`choices[0].message.content` in its reply is a number, not a string",
        ),
        (
            reply_with(usage={"prompt_tokens": "many", "completion_tokens": "few"}),
            "`usage.prompt_tokens` in its reply is a string, not a whole number",
        ),
        (reply_with(usage="1380 tokens"), "`usage` in its reply is a string, not an object"),
        (httpx.Response(200, json=["a grade"]), "its reply is a list, not an object"),
        (httpx.Response(200, json={"error": "busy"}), "its reply has no `choices`"),
    ],
    ids=[
        "choices-string",
        "choice-string",
        "message-null",
        "content-number",
        "usage-words",
        "usage-string",
        "list",
        "no-choices",
    ],
)
def test_a_reply_of_the_wrong_shape_is_a_failed_grade_that_says_what_is_wrong(
    cli, home, endpoint, sent, problem
):
    endpoint.mock(return_value=sent)
    result, grade = practice_json(cli)
    reason = (
        f"http://llm.test/v1 did not answer like an OpenAI-compatible API ({problem}): "
        "check the base URL (it usually ends in /v1)"
    )
    assert_failed(cli, home, result, grade, reason)


def test_token_counts_sent_as_strings_of_digits_are_read_as_numbers(cli, endpoint):
    body = json.loads(REPLY)
    body["usage"] = {"prompt_tokens": "1200", "completion_tokens": "180"}
    endpoint.mock(return_value=httpx.Response(200, json=body))
    _, grade = practice_json(cli)
    assert grade["status"] == "graded" and grade["score"] == 10.0
    assert grade["usage"] == {"prompt_tokens": 1200, "completion_tokens": 180, "cached_tokens": 0}


# --- a key no request can carry ------------------------------------------------------------------


PRACTICE = ("practice", "optimization/adam", "--grader", "llm")


@pytest.mark.parametrize(
    ("key", "command"),
    [("sk-t\u00e9st-0123", PRACTICE), ("sk-test\u00a00123", ("doctor",)), ("sk-test-\x7f0123", PRACTICE)],
    ids=["accent", "no-break-space", "control"],
)
def test_a_key_http_cannot_carry_is_refused_before_anything_is_asked(
    cli, endpoint, monkeypatch, key, command
):
    monkeypatch.setenv("OPENAI_API_KEY", key)
    result = cli(*command, input=ANSWER)
    assert result.exit_code == 2
    position = next(i for i, c in enumerate(key) if not (c.isascii() and c.isprintable())) + 1
    assert (
        f"the API key from environment variable OPENAI_API_KEY has a character at position {position} that HTTP cannot carry"
        in (result.stderr)
    )
    assert key not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not endpoint.calls
