"""Secrets stay out of everything interviewer prints, stores or reports, whatever a server echoes back."""

import base64
import json

import httpx
import pytest
from llm_fakes import BASE, KEY, QUOTES, completion, practice_json, reply

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
    assert regraded.exit_code == 0 and json.loads(regraded.stdout)[0]["status"] == "graded"
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
