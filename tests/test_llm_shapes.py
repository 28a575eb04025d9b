"""Request shapes and retries against servers that differ from OpenAI's, through the real openai client."""

import json

import httpx
import pytest
from llm_fakes import ADAM, BASE, QUOTES, completion, config, practice_json, reply, sent

# llama-cpp-python's server, answering a JSON schema (its exact body, trimmed of the stack trace).
LLAMA_CPP_500 = {
    "error": {
        "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
        "'ctx': {'expected': \"'text' or 'json_object'\"}}\n",
        "type": "internal_server_error",
        "param": None,
        "code": None,
    }
}


@pytest.fixture
def endpoint(monkeypatch, respx_mock):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    return respx_mock.post(f"{BASE}/chat/completions")


def formats(route):
    """The response format of every request the route received, in order (None: none sent)."""
    return [(sent(route, i).get("response_format") or {}).get("type") for i in range(len(route.calls))]


def memory(home):
    return json.loads((home / "cache" / "llm-modes.json").read_text())


def test_a_500_naming_the_response_format_steps_down_once_per_shape_to_json_mode(cli, endpoint, home):
    def llama_cpp(request):
        if (json.loads(request.content).get("response_format") or {}).get("type") == "json_schema":
            return httpx.Response(500, json=LLAMA_CPP_500)
        return completion(reply())

    endpoint.mock(side_effect=llama_cpp)
    _, grade = practice_json(cli)  # default settings: the client would retry a 500 twice by itself
    assert grade["status"] == "graded" and grade["score"] == 10.0
    assert formats(endpoint) == ["json_schema", "json_object"], "one request per shape, no retry"
    schema = sent(endpoint, 0)["response_format"]["json_schema"]["schema"]
    assert sent(endpoint, 1)["response_format"]["schema"] == schema, "llama-cpp-python enforces it"
    assert memory(home) == {"http://llm.test/v1 gpt-4.1-mini": "json_object,max_tokens,temperature,seed"}

    practice_json(cli)  # the next grade goes straight to the shape that works
    assert formats(endpoint) == ["json_schema", "json_object", "json_object"]


def test_a_server_refusing_schema_and_json_mode_gets_json_in_text(cli, endpoint, home):
    def server(request):
        kind = (json.loads(request.content).get("response_format") or {}).get("type")
        if kind == "json_schema":
            return httpx.Response(500, json=LLAMA_CPP_500)
        if kind == "json_object":  # LM Studio's words
            message = "'response_format.type' must be 'json_schema' or 'text'"
            return httpx.Response(400, json={"error": {"message": message}})
        return completion("Sure! Here is the grade:\n```json\n" + reply() + "\n```\nHope this helps.")

    endpoint.mock(side_effect=server)
    _, grade = practice_json(cli)
    assert grade["status"] == "graded" and grade["score"] == 10.0
    assert formats(endpoint) == ["json_schema", "json_object", None]
    assert memory(home) == {"http://llm.test/v1 gpt-4.1-mini": "text,max_tokens,temperature,seed"}
    practice_json(cli)
    assert formats(endpoint)[3:] == [None]


def test_a_bare_400_steps_down_every_rung_then_names_the_server_message(cli, endpoint, home):
    endpoint.mock(return_value=httpx.Response(400, json={"error": {"message": "context too long"}}))
    result, grade = practice_json(cli)
    assert result.exit_code == 1 and grade["status"] == "failed"
    assert formats(endpoint) == ["json_schema", "json_object", None]
    assert grade["failure"] == "http://llm.test/v1 rejected the request (HTTP 400): context too long"
    assert not (home / "cache" / "llm-modes.json").exists(), "nothing worked: nothing remembered"


def test_a_reasoning_model_gets_the_parameters_it_accepts_and_they_are_remembered(cli, endpoint):
    def server(request):
        body = json.loads(request.content)
        if "max_tokens" in body:
            message = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens'."
            return httpx.Response(400, json={"error": {"message": message}})
        if "temperature" in body:
            message = "Unsupported value: 'temperature' does not support 0 with this model."
            return httpx.Response(400, json={"error": {"message": message}})
        return completion(reply())

    endpoint.mock(side_effect=server)
    _, grade = practice_json(cli)
    assert grade["status"] == "graded" and len(endpoint.calls) == 3
    assert "response_format" in sent(endpoint) and sent(endpoint)["max_completion_tokens"] > 0
    practice_json(cli)
    assert len(endpoint.calls) == 4, "the second grade is shaped right the first time"


# --- servers that ignore response_format ---------------------------------------------------------


def test_json_in_prose_from_a_server_ignoring_the_format_is_extracted_and_checked(cli, endpoint):
    quotes = ["Adam keeps the gradients' history in a clever way", *QUOTES[1:]]
    endpoint.mock(
        return_value=completion("I have graded the answer. " + reply(evidence=quotes) + " Let me know!")
    )
    _, grade = practice_json(cli)
    assert grade["status"] == "graded" and len(endpoint.calls) == 1
    assert grade["key_points"][0]["verdict"] == "missing", "the reply is validated like any other"
    assert "does not occur in the answer" in grade["key_points"][0]["why"]


def test_plain_prose_from_a_server_ignoring_the_format_is_repaired_then_failed(cli, endpoint, home):
    endpoint.mock(
        return_value=completion("This is a solid answer covering Adam's moments. I'd give it 8/10.")
    )
    result, grade = practice_json(cli)
    assert result.exit_code == 1
    assert grade["status"] == "failed" and grade["score"] is None
    assert grade["failure"] == (
        "the model's reply was not a valid grade, even after a repair: the reply holds no JSON object"
    )
    assert len(endpoint.calls) == 2 and formats(endpoint) == ["json_schema", "json_schema"]
    repair = sent(endpoint, 1)["messages"]
    assert repair[-2] == {
        "role": "assistant",
        "content": "This is a solid answer covering Adam's moments. I'd give it 8/10.",
    }
    assert "the reply holds no JSON object" in repair[-1]["content"]


def test_raw_newlines_inside_the_reply_strings_are_accepted(cli, endpoint):
    endpoint.mock(return_value=completion(reply(improvements=["Mention\nAdamW."]).replace("\\n", "\n")))
    _, grade = practice_json(cli)
    assert grade["status"] == "graded" and grade["improvements"] == ["Mention\nAdamW."]


def test_prose_then_a_valid_repair_is_graded(cli, endpoint):
    endpoint.side_effect = [
        completion("Good answer overall."),
        completion(reply(["covered"] * 5 + ["missing"])),
    ]
    _, grade = practice_json(cli)
    weights = [kp.weight for kp in ADAM.key_points]
    assert grade["status"] == "graded" and grade["score"] == round(10 * sum(weights[:5]) / sum(weights), 1)


# --- real failures keep their retries -----------------------------------------------------------


def test_a_500_that_is_not_about_the_shape_is_retried_and_fails_with_its_reason(cli, endpoint, home):
    config(home, max_retries=1)
    endpoint.mock(
        return_value=httpx.Response(
            500, headers={"retry-after-ms": "1"}, json={"error": {"message": "CUDA out of memory.\nTrace..."}}
        )
    )
    result, grade = practice_json(cli)
    assert result.exit_code == 1 and grade["status"] == "failed"
    assert (
        grade["failure"]
        == "http://llm.test/v1 answered HTTP 500 after 1 retries: CUDA out of memory. Trace..."
    )
    assert formats(endpoint) == ["json_schema", "json_schema"], "retried as it was, not stepped down"


def test_a_transient_error_is_retried_and_then_grades(cli, endpoint, home):
    endpoint.side_effect = [
        httpx.Response(503, headers={"retry-after-ms": "1"}, json={"error": {"message": "overloaded"}}),
        httpx.ConnectError("[Errno 111] Connection refused"),
        completion(reply()),
    ]
    _, grade = practice_json(cli)  # default: 2 retries
    assert grade["status"] == "graded" and grade["score"] == 10.0
    assert formats(endpoint) == ["json_schema"] * 3


def test_a_timeout_is_not_retried_since_the_server_is_likely_still_busy_with_it(cli, endpoint):
    endpoint.mock(side_effect=httpx.ReadTimeout("timed out"))
    _, grade = practice_json(cli)  # default: 2 retries
    assert len(endpoint.calls) == 1
    assert grade["failure"].startswith("no reply from http://llm.test/v1 within 60 s (timeout)")


def test_a_server_asking_to_wait_more_than_a_minute_is_not_retried(cli, endpoint):
    endpoint.mock(return_value=httpx.Response(429, headers={"retry-after": "120"}, json={}))
    _, grade = practice_json(cli)
    assert len(endpoint.calls) == 1
    assert "is rate-limiting requests (429), still after 0 retries" in grade["failure"]


def test_doctor_names_json_mode_for_a_server_that_refuses_schemas_with_500(cli, endpoint, respx_mock):
    respx_mock.get(f"{BASE}/models").mock(
        return_value=httpx.Response(
            200, json={"object": "list", "data": [{"id": "gpt-4.1-mini", "object": "model"}]}
        )
    )

    def llama_cpp(request):
        body = json.loads(request.content)
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return httpx.Response(500, json=LLAMA_CPP_500)
        return completion("not json at all")

    endpoint.mock(side_effect=llama_cpp)
    result = cli("doctor")
    assert result.exit_code == 1
    assert (
        "grading           FAILED: the model's reply was not a valid grade, even after a repair: "
        "the reply holds no JSON object" in result.stdout
    )
    assert "structured output ok: JSON mode (the endpoint refused a JSON schema)" in result.stdout
    assert formats(endpoint) == ["json_schema", "json_object", "json_object"]
