"""What the LLM tests send and receive: a good answer to the Adam question, a model's replies, and
OpenAI-shaped HTTP responses for respx."""

import json

import httpx

from interviewer import bank

BASE = "http://llm.test/v1"
KEY = "sk-test-SECRET-0123456789abcdef"
ANSWER = (
    "Adam keeps an exponential moving average of the gradients, like momentum, and one of the squared "
    "gradients, like RMSProp. Each parameter's step is the first moment divided by the square root of the "
    "second, so every parameter gets its own step size. Both averages start at zero, hence bias correction. "
    "In practice AdamW, which decouples weight decay, is the default, and a learning rate of 1e-3 often works."
)
ADAM = bank.load().get("optimization/adam")
# One quote per key point of ADAM, each the clause of ANSWER that states it.
QUOTES = [
    "every parameter gets its own step size",
    "Adam keeps an exponential moving average of the gradients",
    "one of the squared gradients, like RMSProp",
    "Each parameter's step is the first moment divided by the square root of the second",
    "Both averages start at zero, hence bias correction",
    "AdamW, which decouples weight decay, is the default",
]
assert len(QUOTES) == len(ADAM.key_points)


def completion(content, *, finish="stop", usage=(1200, 180, 1024)):
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-test",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
            ],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": usage[0] + usage[1],
                "prompt_tokens_details": {"cached_tokens": usage[2]},
            },
        },
    )


def reply(verdicts=None, *, evidence=None, errors=(), injection=False, **extra):
    """A model's reply on ADAM: every point covered with its proper quote, unless told otherwise."""
    n = len(ADAM.key_points)
    verdicts = verdicts or ["covered"] * n
    quotes = evidence or QUOTES
    body = {
        "key_points": [
            {"index": i + 1, "verdict": v, "evidence": "" if v == "missing" else quotes[i]}
            for i, v in enumerate(verdicts)
        ],
        "errors": [{"text": e, "severity": "major"} for e in errors],
        "strengths": ["Explains both moments."],
        "improvements": ["Mention AdamW."],
        "injection_suspected": injection,
        **extra,
    }
    return json.dumps(body)


def verdicts_reply(verdicts):
    """A model's reply for any question: (verdict, quote) per key point, no errors."""
    points = [
        {"index": i + 1, "verdict": v, "evidence": "" if v == "missing" else quote}
        for i, (v, quote) in enumerate(verdicts)
    ]
    body = {
        "key_points": points,
        "errors": [],
        "strengths": [],
        "improvements": [],
        "injection_suspected": False,
    }
    return json.dumps(body)


def sent(route, call=-1):
    return json.loads(route.calls[call].request.content)


def practice_json(cli, answer=ANSWER, *args, question="optimization/adam"):
    result = cli("practice", question, "--json", *args, input=answer)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def config(home, **values):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
