"""The LLM grader: any OpenAI-compatible Chat Completions endpoint judges each key point.

The model returns verdicts with quotes as evidence; this module checks every reply in code (shape,
one verdict per key point, quotes that really occur in the answer) and computes the score with the
same formula as the offline grader. Whatever goes wrong ends as a failed grade with its reason,
never as a low score.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interviewer import resources
from interviewer.bank import Question
from interviewer.config import Settings
from interviewer.grading.model import Finding, Grade, PointVerdict, Usage, Verdict, compute_score

if TYPE_CHECKING:
    import openai

SEED = 7
MAX_TOKENS = 4096  # reasoning models spend part of it thinking
INJECTION_CAP = 3.0
EVIDENCE_CHARS = 300
MODES = ("json_schema", "text")  # strict structured output first; JSON in text where refused


@dataclass(frozen=True)
class Shape:
    """How requests to one endpoint and model are shaped, learnt from what it refuses.

    Strict structured output, temperature 0, a seed and `max_tokens` come first; reasoning models
    reject temperature and want `max_completion_tokens`, some local servers reject schemas.
    """

    mode: str = MODES[0]
    tokens_param: str = "max_tokens"
    temperature: bool = True
    seed: bool = True

    def key(self) -> str:
        flags = [self.mode, self.tokens_param] + [
            name for name in ("temperature", "seed") if getattr(self, name)
        ]
        return ",".join(flags)

    @classmethod
    def parse(cls, key: str) -> Shape:
        parts = key.split(",")
        mode = parts[0] if parts[0] in MODES else MODES[0]
        if len(parts) == 1:
            return cls(mode=mode)
        tokens = "max_completion_tokens" if "max_completion_tokens" in parts else "max_tokens"
        return cls(mode, tokens, "temperature" in parts, "seed" in parts)

    def adapted(self, refusal: str) -> Shape | None:
        """The next shape to try after the endpoint refused a request with this message, if any."""
        said = refusal.lower()
        if "max_tokens" in said and self.tokens_param == "max_tokens":
            return replace(self, tokens_param="max_completion_tokens")
        if "temperature" in said and self.temperature:
            return replace(self, temperature=False)
        if "seed" in said and self.seed:
            return replace(self, seed=False)
        if self.mode == "json_schema":
            return replace(self, mode="text")
        return None

    def request(self, model: str, chat: list[dict[str, str]]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": model, "messages": chat, self.tokens_param: MAX_TOKENS}
        if self.temperature:
            kwargs["temperature"] = 0
        if self.seed:
            kwargs["seed"] = SEED
        if self.mode == "json_schema":
            kwargs["response_format"] = _schema_format()
        return kwargs


# --- what the model must return -----------------------------------------------------------------


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointJudgement(_Reply):
    index: int = Field(description="The key point's number, as in the message")
    verdict: Literal["covered", "partial", "missing"]
    evidence: str = Field(description="An exact quote from the answer; empty when missing")


class ErrorJudgement(_Reply):
    text: str
    severity: Literal["minor", "major"]


class Reply(_Reply):
    key_points: list[PointJudgement]
    errors: list[ErrorJudgement]
    strengths: list[str]
    improvements: list[str]
    injection_suspected: bool


class InvalidReply(ValueError):
    """The model's reply is not a usable grade; the message says why, for the repair request."""


# --- prompts ------------------------------------------------------------------------------------


@cache
def _templates() -> tuple[Any, Any, str]:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resources.prompts_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text for a model, not HTML
        keep_trailing_newline=True,
    )
    system, user = env.get_template("grade_system.j2"), env.get_template("grade_user.j2")
    digest = hashlib.sha256()
    for name in ("grade_system.j2", "grade_user.j2"):
        digest.update((resources.prompts_dir() / name).read_bytes())
    return system, user, digest.hexdigest()[:16]


def prompt_hash() -> str:
    return _templates()[2]


def _fence_safe(answer: str) -> str:
    # The nonce makes the closing marker unguessable; anything marker-like is defused anyway.
    return answer.replace("<<<", "<\u2009<<").replace(">>>", ">\u2009>>")


def messages(question: Question, answer: str, nonce: str | None = None) -> list[dict[str, str]]:
    """The chat messages for one grading call: static system part first, the answer last."""
    system, user, _ = _templates()
    return [
        {"role": "system", "content": system.render()},
        {
            "role": "user",
            "content": user.render(
                topic=question.topic,
                difficulty=question.difficulty.value,
                prompt=question.prompt,
                reference=question.reference.strip(),
                key_points=[kp.point for kp in question.key_points],
                nonce=nonce or secrets.token_hex(8),
                answer=_fence_safe(answer),
            ),
        },
    ]


# --- checking a reply ---------------------------------------------------------------------------


def extract_json(content: str) -> dict[str, Any]:
    """The JSON object in a reply: bare, in a code fence, or inside surrounding prose."""
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    if fenced:
        text = fenced.group(1)
    elif not text.startswith("{"):
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise InvalidReply("the reply holds no JSON object")
        text = text[start : end + 1]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidReply(f"the reply is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidReply("the reply is JSON but not an object")
    return data


_QUOTES = str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")


def _squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip()


def quote_in(quote: str, answer: str) -> bool:
    """Whether the quote occurs in the answer (case and spacing aside; `...` may skip text)."""
    haystack = _squash(answer)
    at = 0
    parts = [p.strip(" \"'") for p in re.split(r"\.\.\.|…", _squash(quote))]
    parts = [p for p in parts if p]
    if not parts:
        return False
    for part in parts:
        found = haystack.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


_INJECTION = re.compile(
    r"ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|your)\s+(?:instructions|rules|prompt)"
    r"|disregard\s+(?:all\s+|the\s+)?(?:previous|prior|above|your)?\s*(?:instructions|rules)"
    r"|(?:give|award|grade|score|rate)\s+(?:me|this|this answer|it)?\s*(?:a\s+)?(?:10|ten|full marks|maximum|perfect)"
    r"|\b10\s*/\s*10\b|system prompt|you are now|new instructions"
    r"|mark\s+(?:all|every)\s+(?:key\s+)?points?\s+(?:as\s+)?covered|\"verdict\"\s*:",
    re.I,
)


def looks_like_injection(answer: str) -> bool:
    return bool(_INJECTION.search(answer))


def to_grade(reply: Reply, question: Question, answer: str, grader: str) -> Grade:
    """Turn a validated reply into a grade: verdicts checked against the answer, score in code."""
    n = len(question.key_points)
    seen = sorted(j.index for j in reply.key_points)
    if seen != list(range(1, n + 1)):
        raise InvalidReply(
            f"key_points must have exactly one entry for each index 1..{n}; got indexes {seen}"
        )
    verdicts = []
    for judgement in sorted(reply.key_points, key=lambda j: j.index):
        kp = question.key_points[judgement.index - 1]
        verdict, evidence, why = Verdict(judgement.verdict), judgement.evidence.strip() or None, None
        if verdict is not Verdict.missing and not (evidence and quote_in(evidence, answer)):
            verdict, why = Verdict.missing, "the grader's quote does not occur in the answer"
            evidence = None
        if evidence and len(evidence) > EVIDENCE_CHARS:
            evidence = evidence[: EVIDENCE_CHARS - 1] + "…"
        verdicts.append(
            PointVerdict(point=kp.point, weight=kp.weight, verdict=verdict, evidence=evidence, why=why)
        )
    errors = [Finding(text=e.text.strip(), severity=e.severity) for e in reply.errors if e.text.strip()]
    injection = reply.injection_suspected or looks_like_injection(answer)
    cap = INJECTION_CAP if injection else None
    return Grade(
        grader=grader,
        score=compute_score(verdicts, errors, cap),
        key_points=verdicts,
        errors=errors,
        strengths=[s.strip() for s in reply.strengths if s.strip()][:5],
        improvements=[s.strip() for s in reply.improvements if s.strip()][:5],
        cap=cap,
        cap_reason="the answer tries to instruct the grader" if injection else None,
        injection_suspected=injection,
    )


def parse_reply(content: str | None, question: Question, answer: str, grader: str) -> Grade:
    if not content or not content.strip():
        raise InvalidReply("the reply is empty")
    try:
        reply = Reply.model_validate(extract_json(content))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        raise InvalidReply(f"{where}: {first['msg']} ({exc.error_count()} problem(s) in all)") from None
    return to_grade(reply, question, answer, grader)


# --- which structured-output mode an endpoint supports, remembered -------------------------------


class ModeMemory:
    """Per endpoint and model, the request shape that worked, kept in a small JSON file."""

    def __init__(self, path: Path | None):
        self.path = path

    def _read(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def forget(self, key: str) -> None:
        self.set(key, None)

    def get(self, key: str) -> Shape:
        value = self._read().get(key)
        return Shape.parse(value) if isinstance(value, str) else Shape()

    def set(self, key: str, mode: str | None) -> None:
        """Remember the shape (`Shape.key()`) for `key`; None forgets it."""
        if self.path is None:
            return
        data = self._read()
        if data.get(key) == mode:
            return
        if mode is None:
            data.pop(key, None)
        else:
            data[key] = mode
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        except OSError:
            pass


# --- the grader ---------------------------------------------------------------------------------


class GradingFailed(Exception):
    """A call failed for good; the message is the one-line reason recorded with the grade."""


def _schema_format() -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "interview_grade", "strict": True, "schema": Reply.model_json_schema()},
    }


def _refusal(exc: Exception) -> str | None:
    """The server's message when an error means it does not take the request as we shaped it."""
    import openai

    if isinstance(exc, openai.APIStatusError) and exc.status_code in {400, 422, 501}:
        return str(exc.message or "") + " " + str(exc.body or "")
    return None


def _server_message(exc: Exception, settings: Settings) -> str:
    """What the server said, in one line, without the key."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        message = re.sub(r"^Error code: \d+ - ", "", str(getattr(exc, "message", "") or exc))
    message = (message.strip().splitlines() or [""])[0]
    if settings.api_key:
        message = message.replace(settings.api_key, "***")
    return message[:200]


def explain(exc: Exception, settings: Settings) -> str:
    """One line a user can act on, for an exception raised by the openai client."""
    import openai

    where = settings.shown_endpoint
    if isinstance(exc, openai.AuthenticationError):
        return f"{where} refused the API key (401): check OPENAI_API_KEY"
    if isinstance(exc, openai.PermissionDeniedError):
        return f"{where} denied access to model {settings.model!r} (403)"
    if isinstance(exc, openai.NotFoundError):
        return (
            f"model {settings.model!r} was not found at {where} (404): "
            "pass --model with a model the server has (or set INTERVIEWER_MODEL)"
        )
    if isinstance(exc, openai.RateLimitError):
        return f"{where} is rate-limiting requests (429), still after {settings.max_retries} retries: try again later"
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"no reply from {where} within {settings.timeout:g} s (timeout): "
            "try again, or allow longer with INTERVIEWER_TIMEOUT"
        )
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot connect to {where}: is the server running and the URL right?"
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        return f"{where} rejected the request (HTTP {exc.status_code}): {_server_message(exc, settings)}"
    if isinstance(exc, openai.APIStatusError):
        return f"{where} answered HTTP {exc.status_code} after {settings.max_retries} retries"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class LLMGrader:
    def __init__(self, settings: Settings, *, memory: ModeMemory | None = None):
        self.settings = settings
        self.name = f"llm:{settings.model}"
        self.memory = memory or ModeMemory(None)
        self._client: openai.OpenAI | None = None
        self._client_lock = threading.Lock()  # warm-up and the first grade may race to build it

    @property
    def client(self) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self.settings.key_for_client,
                    base_url=self.settings.endpoint,
                    timeout=self.settings.timeout,
                    max_retries=self.settings.max_retries,
                )
            return self._client

    def warm(self) -> None:
        """Import the client library and build the client ahead of the first answer."""
        _templates()
        _ = self.client

    @property
    def memory_key(self) -> str:
        return f"{self.settings.shown_endpoint} {self.settings.model}"

    def _complete(self, chat: list[dict[str, str]], shape: Shape, usage: Usage) -> tuple[str | None, Shape]:
        """One completion; returns its text and the request shape that worked."""
        while True:
            try:
                response = self.client.chat.completions.create(**shape.request(self.settings.model, chat))
                break
            except Exception as exc:
                refusal = _refusal(exc)
                adapted = shape.adapted(refusal) if refusal is not None else None
                if adapted is None:
                    raise GradingFailed(explain(exc, self.settings)) from None
                shape = adapted
        if not hasattr(response, "choices"):
            # The openai client hands back plain text when the reply is not JSON: a web page, a proxy.
            raise GradingFailed(
                f"{self.settings.shown_endpoint} did not answer like an OpenAI-compatible API: "
                "check the base URL (it usually ends in /v1)"
            )
        if response.usage is not None:
            usage.prompt_tokens += response.usage.prompt_tokens or 0
            usage.completion_tokens += response.usage.completion_tokens or 0
            details = getattr(response.usage, "prompt_tokens_details", None)
            usage.cached_tokens += (getattr(details, "cached_tokens", 0) or 0) if details else 0
        if not response.choices:
            raise InvalidReply("the reply has no choices")
        choice = response.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise GradingFailed(f"the model refused to grade: {refusal}".splitlines()[0])
        if choice.finish_reason == "length":
            raise InvalidReply(f"the reply was cut off at {MAX_TOKENS} tokens")
        return choice.message.content, shape

    def grade(self, question: Question, answer: str) -> Grade:
        started = time.perf_counter()
        usage = Usage()
        chat = messages(question, answer)
        shape = self.memory.get(self.memory_key)
        meta = {"prompt_hash": prompt_hash(), "usage": usage}
        content: str | None = None
        try:
            try:
                content, shape = self._complete(chat, shape, usage)
                self.memory.set(self.memory_key, shape.key())
                grade = parse_reply(content, question, answer, self.name)
            except InvalidReply as first:
                # One repair: show the model what was wrong with its reply.
                chat = [
                    *chat,
                    {"role": "assistant", "content": content or ""},
                    {
                        "role": "user",
                        "content": f"Your reply is not valid: {first}. Reply again with only the corrected "
                        "JSON object, with one entry per key point.",
                    },
                ]
                try:
                    content, shape = self._complete(chat, shape, usage)
                    grade = parse_reply(content, question, answer, self.name)
                except InvalidReply as second:
                    raise GradingFailed(
                        f"the model's reply was not a valid grade, even after a repair: {second}"
                    ) from None
        except GradingFailed as failed:
            return Grade.failed(self.name, str(failed), latency_ms=_ms(started), **meta)
        return grade.model_copy(update={"latency_ms": _ms(started), **meta})


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
