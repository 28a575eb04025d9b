"""The LLM grader: any OpenAI-compatible Chat Completions endpoint judges each key point.

The model returns verdicts with quotes as evidence; this module checks every reply in code (shape,
one verdict per key point, quotes that are real evidence for their points) and computes the score
with the same formula as the offline grader. Whatever goes wrong ends as a failed grade with its
reason, never as a low score.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import os
import random
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interviewer import resources
from interviewer.bank import Question
from interviewer.config import Settings
from interviewer.errors import UsageError
from interviewer.grading import completion, evidence
from interviewer.grading.injection import injection_phrase
from interviewer.grading.model import (
    EVIDENCE_CHARS,
    UNREACHABLE,
    Finding,
    Grade,
    PointVerdict,
    Usage,
    Verdict,
    compute_score,
    shorten_quote,
)
from interviewer.redaction import Redactor

if TYPE_CHECKING:
    import openai

SEED = 7
MAX_TOKENS = 4096  # reasoning models spend part of it thinking
INJECTION_CAP = 3.0
# The request-shape ladder: strict structured output, then JSON mode (llama-cpp-python's server
# refuses a JSON schema), then JSON asked for in the prompt only (LM Studio refuses JSON mode; older
# Ollama ignores response_format, and its prose is parsed and validated like any reply).
MODES = ("json_schema", "json_object", "text")
# Words of a server's error that mean it refused the request's shape, whatever the status code.
_SHAPE_WORDS = re.compile(
    r"response_format|json_schema|json_object|structured output|\bschema\b|max_tokens|max_completion_tokens"
    r"|temperature|\bseed\b",
    re.I,
)
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|structured output|\bschema\b", re.I)
RETRY_DELAY, MAX_RETRY_DELAY, MAX_RETRY_AFTER = 0.5, 8.0, 60.0  # seconds, as the openai client's own


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

    def adapted(self, refusal: str, *, named_only: bool = False) -> Shape | None:
        """The next shape to try after the endpoint refused a request with this message, if any.

        With `named_only`, step down the format ladder only when the message names the response
        format: a server error that says nothing about it is not a refusal of the shape.
        """
        said = refusal.lower()
        if "max_tokens" in said and self.tokens_param == "max_tokens":
            return replace(self, tokens_param="max_completion_tokens")
        if "temperature" in said and self.temperature:
            return replace(self, temperature=False)
        if re.search(r"\bseed\b", said) and self.seed:
            return replace(self, seed=False)
        if self.mode != MODES[-1] and (not named_only or _FORMAT_WORDS.search(said)):
            return replace(self, mode=MODES[MODES.index(self.mode) + 1])
        return None

    def request(
        self, model: str, chat: list[dict[str, str]], output: tuple[str, dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The request's arguments; `output` names the reply's schema and gives it (a grade's by default)."""
        kwargs: dict[str, Any] = {"model": model, "messages": chat, self.tokens_param: MAX_TOKENS}
        if self.temperature:
            kwargs["temperature"] = 0
        if self.seed:
            kwargs["seed"] = SEED
        if self.mode == "json_schema":
            kwargs["response_format"] = _schema_format(*(output or ()))
        elif self.mode == "json_object":
            # The schema rides along: llama-cpp-python's server turns it into a grammar the model
            # must follow; servers that do not know the key ignore it.
            kwargs["response_format"] = {
                "type": "json_object",
                "schema": output[1] if output else _reply_schema(),
            }
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
def prompt_environment() -> Any:
    """The Jinja environment of prompts/: user text is passed in as variables, never compiled."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(resources.prompts_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text for a model, not HTML
        keep_trailing_newline=True,
    )


@cache
def _templates() -> tuple[Any, Any, str]:
    env = prompt_environment()
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
    system = _templates()[0]
    return [
        {"role": "system", "content": system.render(evidence_chars=EVIDENCE_CHARS)},
        {"role": "user", "content": question_message(question, answer, nonce)},
    ]


def question_message(question: Question, answer: str, nonce: str | None = None) -> str:
    """The question, its reference and key points, then the answer fenced as untrusted data."""
    return _templates()[1].render(
        topic=question.topic,
        difficulty=question.difficulty.value,
        prompt=question.prompt,
        reference=question.reference.strip(),
        key_points=[kp.point for kp in question.key_points],
        nonce=nonce or secrets.token_hex(8),
        answer=_fence_safe(answer),
    )


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
        data = json.loads(text, strict=False)  # small local models put raw newlines inside strings
    except json.JSONDecodeError as exc:
        raise InvalidReply(f"the reply is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidReply("the reply is JSON but not an object")
    return data


class _Overturned:
    """Verdicts the model gave whose quotes are no evidence, and why, as `to_grade` collects them."""

    def __init__(self) -> None:
        self.claimed = 0  # verdicts other than "missing"
        self.reasons: dict[int, str] = {}  # key point number -> what is wrong with its quote

    def summary(self) -> str:
        shown = "; ".join(f"key point {i}: {reason}" for i, reason in sorted(self.reasons.items())[:4])
        more = len(self.reasons) - 4
        return (
            f"the evidence for {len(self.reasons)} of the {self.claimed} key points it credited is not a usable "
            f"quote ({shown}{f'; and {more} more' if more > 0 else ''})"
        )


def _point_words(question: Question) -> tuple[frozenset[str], ...]:
    points = tuple((kp.point, tuple(kp.terms or ())) for kp in question.key_points)
    return evidence.point_words(points, question.prompt)


def _judge(
    judgement: PointJudgement, question: Question, answer: str, overturned: _Overturned
) -> PointVerdict:
    kp = question.key_points[judgement.index - 1]
    verdict, quote = Verdict(judgement.verdict), judgement.evidence.strip()
    why = None
    if verdict is Verdict.missing:
        quote = ""  # a quote for a point the model says is missing shows nothing
    else:
        overturned.claimed += 1
        reason: str | None = "the answer is too short to show it"
        if not evidence.answer_too_short(answer):
            supports = _point_words(question)[judgement.index - 1]
            problem = evidence.problem(quote, answer, supports)
            reason = problem and f"its quote \u201c{evidence.shown(quote)}\u201d {problem}"
        if reason:
            overturned.reasons[judgement.index] = reason
            why = f"not credited: the grader said {verdict.value}, but {reason}"
            verdict, quote = Verdict.missing, ""
    return PointVerdict(
        point=kp.point, weight=kp.weight, verdict=verdict, evidence=shorten_quote(quote) or None, why=why
    )


def to_grade(reply: Reply, question: Question, answer: str, grader: str) -> Grade:
    """Turn a validated reply into a grade: verdicts checked against the answer, score in code.

    A verdict whose quote is no evidence is overturned to "missing", with the reason. When most of
    the reply's verdicts are overturned, the reply as a whole is invalid (InvalidReply), so that
    the model is asked again rather than the answer scored on a broken judgement; except where the
    answer itself is too short to show anything, which is a grade (every point missing), not a
    broken reply.
    """
    n = len(question.key_points)
    seen = sorted(j.index for j in reply.key_points)
    if seen != list(range(1, n + 1)):
        raise InvalidReply(
            f"key_points must have exactly one entry for each index 1..{n}; got indexes {seen}"
        )
    overturned = _Overturned()
    verdicts = [
        _judge(judgement, question, answer, overturned)
        for judgement in sorted(reply.key_points, key=lambda j: j.index)
    ]
    too_short = evidence.answer_too_short(answer)
    if 2 * len(overturned.reasons) > overturned.claimed and not too_short:
        raise InvalidReply(
            overturned.summary() + ". Evidence must be whole words copied exactly from the answer, a clause "
            'that states the key point (a few words at least); give "missing" where the answer does not state it'
        )
    notes = []
    if overturned.reasons:
        which = ", ".join(str(i) for i in sorted(overturned.reasons))
        notes.append(
            f"The grader's verdicts on key points {which} were not credited: "
            + ("the answer is too short to show them." if too_short else "its quotes did not show them.")
        )
    errors = [Finding(text=e.text.strip(), severity=e.severity) for e in reply.errors if e.text.strip()]
    phrase = injection_phrase(answer)
    if phrase:
        cap_reason = f"the answer tries to instruct the grader (\u201c{phrase}\u201d)"
    elif reply.injection_suspected:
        cap_reason = "the grading model judged that the answer tries to instruct it"
    else:
        cap_reason = None
    cap = INJECTION_CAP if cap_reason else None
    return Grade(
        grader=grader,
        score=compute_score(verdicts, errors, cap),
        key_points=verdicts,
        errors=errors,
        strengths=[s.strip() for s in reply.strengths if s.strip()][:5],
        improvements=[s.strip() for s in reply.improvements if s.strip()][:5],
        cap=cap,
        cap_reason=cap_reason,
        injection_suspected=cap is not None,
        notes=notes,
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
    """Per endpoint and model, the request shape that worked, kept in a small JSON file.

    Grading threads read and update it at once, and several processes may share the file: updates
    are serialised by a lock within the process, and written to a temporary file in the same folder
    and moved over the old one, so a reader sees the old file or the new one, never half of one.
    A file that is not a JSON object is ignored (and replaced at the next update). Between
    processes the last writer wins: an entry lost that way is only learnt again. Without a file,
    what was learnt is kept for the life of the object.
    """

    _lock = threading.Lock()  # one for every memory of the process: they may share a file

    def __init__(self, path: Path | None):
        self.path = path
        self._known: dict[str, str] = {}

    def _read(self) -> dict[str, str]:
        if self.path is None:
            return dict(self._known)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def forget(self, key: str) -> None:
        self.set(key, None)

    def known(self, key: str) -> bool:
        """Whether a shape is remembered for `key`."""
        return key in self._read()

    def get(self, key: str) -> Shape:
        value = self._read().get(key)
        return Shape.parse(value) if value else Shape()

    def set(self, key: str, mode: str | None) -> None:
        """Remember the shape (`Shape.key()`) for `key`; None forgets it."""
        with self._lock:
            data = self._read()
            if data.get(key) == mode:
                return
            if mode is None:
                data.pop(key, None)
            else:
                data[key] = mode
            if self.path is None:
                self._known = data
                return
            with contextlib.suppress(OSError):  # a cache: grading goes on, the shape is learnt again
                self._write(self.path, json.dumps(data, indent=1, sort_keys=True))

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


# --- the grader ---------------------------------------------------------------------------------


class GradingFailed(Exception):
    """A call failed for good; the message is the one-line reason recorded with the grade."""


@cache
def _reply_schema() -> dict[str, Any]:
    return Reply.model_json_schema()


def _schema_format(name: str = "interview_grade", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "strict": True, "schema": schema or _reply_schema()},
    }


def _refusal(exc: Exception) -> tuple[str, bool] | None:
    """When an error means the server does not take the request as we shaped it: its message, and
    whether only the parts it names may change.

    400, 422 and 501 say "not like this" even when they do not say what: any part may change. Other
    statuses count only when the body names a part of the shape: llama-cpp-python's server answers
    a JSON schema with HTTP 500 and "response_format: Input should be 'text' or 'json_object'".
    """
    import openai

    if not isinstance(exc, openai.APIStatusError):
        return None
    said = f"{exc.message or ''} {exc.body or ''}"
    if exc.status_code in {400, 422, 501}:
        return said, False
    if _SHAPE_WORDS.search(said):
        return said, True
    return None


def _retry_delay(exc: Exception, retries_done: int, retries_allowed: int) -> float | None:
    """Seconds to wait before trying again after a transient failure; None when not to retry.

    The openai client's own policy (connection errors, 408, 409, 429 and 5xx; the server's
    Retry-After up to a minute; otherwise exponential backoff with jitter), applied here because the
    client must not retry by itself: a request refused for its shape is not sent twice. Unlike the
    client, a timeout is not retried: a local server is most likely still generating the reply it
    timed out on, so a second request would wait behind it for another whole timeout.
    """
    import openai

    if retries_done >= retries_allowed or isinstance(exc, openai.APITimeoutError):
        return None
    if isinstance(exc, openai.APIStatusError):
        headers = exc.response.headers
        flag = headers.get("x-should-retry")
        if flag in {"true", "false"}:
            if flag == "false":
                return None
        elif exc.status_code not in {408, 409, 429} and exc.status_code < 500:
            return None
        asked = _retry_after(headers)
        if asked is not None:
            return asked if asked <= MAX_RETRY_AFTER else None
    elif not isinstance(exc, openai.APIConnectionError):
        return None
    return min(RETRY_DELAY * 2.0**retries_done, MAX_RETRY_DELAY) * (1 - 0.25 * random.random())


def _retry_after(headers: Any) -> float | None:
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _server_message(exc: Exception, settings: Settings) -> str:
    """What the server said, in one line, without the key."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        message = re.sub(r"^Error code: \d+ - ", "", str(getattr(exc, "message", "") or exc))
    message = Redactor(settings.api_key).text(" ".join(message.split()))  # before it is cut short
    return message if len(message) <= 200 else message[:199] + "\u2026"


def explain(exc: Exception, settings: Settings, retries: int | None = None) -> str:
    """One line a user can act on, for an exception raised by the openai client.

    `retries` is how many times the request was retried (by default, as many as the settings allow).
    """
    import openai

    from interviewer.grading.transport import MAX_REPLY_BYTES, ReplyTooLarge

    where = settings.shown_endpoint
    retries = settings.max_retries if retries is None else retries
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
        return f"{where} is rate-limiting requests (429), still after {retries} retries: try again later"
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"no reply from {where} within {settings.timeout:g} s (timeout): "
            "try again, or allow longer with INTERVIEWER_TIMEOUT"
        )
    if isinstance(exc, openai.APIConnectionError):
        return _connection_failure(exc.__cause__, where)
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        return f"{where} rejected the request (HTTP {exc.status_code}): {_server_message(exc, settings)}"
    if isinstance(exc, openai.APIStatusError):
        said = _server_message(exc, settings)
        return f"{where} answered HTTP {exc.status_code} after {retries} retries" + (
            f": {said}" if said else ""
        )
    if isinstance(exc, ReplyTooLarge):
        return (
            f"{where} sent a reply larger than {MAX_REPLY_BYTES // 2**20} MB, far more than any grade: "
            "check the base URL"
        )
    return Redactor(settings.api_key).text(f"{type(exc).__name__}: {exc}".splitlines()[0])


def not_an_api(where: str, problem: str) -> str:
    """The reason for a reply that is no Chat Completions response (`problem` says how)."""
    return (
        f"{where} did not answer like an OpenAI-compatible API ({problem}): "
        "check the base URL (it usually ends in /v1)"
    )


def _connection_failure(cause: BaseException | None, where: str) -> str:
    """Why a connection failed, told apart: a server that never answered, or one that broke off."""
    import httpx2

    from interviewer.grading.transport import ReplyCutOff

    if isinstance(cause, ReplyCutOff):
        return (
            f"{where} closed the connection before its reply was complete: "
            "try again, and look in the server's log if it keeps happening"
        )
    if isinstance(cause, httpx2.TooManyRedirects):
        return f"{where} redirected the request again and again: check the base URL"
    if isinstance(cause, httpx2.DecodingError):
        return f"{where} sent a reply that cannot be decompressed: {cause}".splitlines()[0]
    if isinstance(cause, httpx2.RemoteProtocolError | httpx2.ReadError | httpx2.WriteError):
        return (
            f"{where} took the connection but sent no valid HTTP reply: "
            "is the port right? (the server's log may say why)"
        )
    return f"{UNREACHABLE}{where}: is the server running and the URL right?"


def _check_key(settings: Settings) -> None:
    """Refuse a key that no request can carry, before anything is typed: HTTP headers hold printable
    ASCII only, and a key pasted with a curly quote or a non-breaking space fails every request."""
    key = settings.api_key or ""
    bad = next((i for i, c in enumerate(key) if not (c.isascii() and c.isprintable())), None)
    if bad is not None:
        raise UsageError(
            f"the API key from {settings.origin.get('api_key', 'the settings')} has a character at position "
            f"{bad + 1} that HTTP cannot carry (keys are plain ASCII): copy the key again"
        )


class LLMGrader:
    def __init__(self, settings: Settings, *, memory: ModeMemory | None = None):
        _check_key(settings)
        self.settings = settings
        self.name = f"llm:{settings.model}"
        self.memory = memory or ModeMemory(None)
        self.redactor = Redactor(settings.api_key)
        self._client: openai.OpenAI | None = None
        self._once: openai.OpenAI | None = None
        self._client_lock = threading.Lock()  # warm-up and the first grade may race to build it

    @property
    def client(self) -> openai.OpenAI:
        """The client, with the configured retries (for `doctor`'s list of models)."""
        with self._client_lock:
            if self._client is None:
                import openai

                from interviewer.grading.transport import BoundedClient

                self._client = openai.OpenAI(
                    api_key=self.settings.key_for_client,
                    base_url=self.settings.endpoint,
                    timeout=self.settings.timeout,
                    max_retries=self.settings.max_retries,
                    http_client=BoundedClient(self.settings.timeout),
                )
            return self._client

    @property
    def _no_retries(self) -> openai.OpenAI:
        """The same client sending each request once: grading decides itself what to send again."""
        client = self.client
        with self._client_lock:
            if self._once is None:
                self._once = client.with_options(max_retries=0)
            return self._once

    def warm(self) -> None:
        """Import the client library and build the client ahead of the first answer."""
        _templates()
        _ = self._no_retries

    @property
    def memory_key(self) -> str:
        return f"{self.settings.shown_endpoint} {self.settings.model}"

    def _send(
        self, chat: list[dict[str, str]], shape: Shape, output: tuple[str, dict[str, Any]] | None = None
    ) -> tuple[Any, Shape]:
        """One completion, stepping down the shape ladder on refusals and retrying transient failures."""
        retries = 0
        while True:
            try:
                # The raw reply: the openai client's own objects are built without being checked.
                response = self._no_retries.chat.completions.with_raw_response.create(
                    **shape.request(self.settings.model, chat, output)
                )
                return response, shape
            except Exception as exc:
                refusal = _refusal(exc)
                adapted = shape.adapted(refusal[0], named_only=refusal[1]) if refusal else None
                if adapted is not None:
                    shape = adapted
                    continue
                delay = _retry_delay(exc, retries, self.settings.max_retries)
                if delay is None:
                    raise GradingFailed(explain(exc, self.settings, retries)) from None
                retries += 1
                time.sleep(delay)

    def _complete(
        self,
        chat: list[dict[str, str]],
        shape: Shape,
        usage: Usage,
        output: tuple[str, dict[str, Any]] | None = None,
    ) -> tuple[str | None, Shape]:
        """One completion; returns its text and the request shape that worked."""
        response, shape = self._send(chat, shape, output)
        try:
            result = completion.parse(response.content)
        except completion.NotACompletion as exc:  # a web page, a proxy, a server of another kind
            raise GradingFailed(not_an_api(self.settings.shown_endpoint, str(exc))) from None
        self.memory.set(self.memory_key, shape.key())  # the endpoint took it, whatever the model replies
        if result.usage is not None:
            usage.prompt_tokens += result.usage.prompt_tokens or 0
            usage.completion_tokens += result.usage.completion_tokens or 0
            details = result.usage.prompt_tokens_details
            usage.cached_tokens += (details.cached_tokens or 0) if details else 0
        if not result.choices:
            raise InvalidReply("the reply has no choices")
        choice = result.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise GradingFailed(f"the model refused to grade: {refusal}".splitlines()[0])
        if choice.finish_reason == "length":
            raise InvalidReply(f"the reply was cut off at {MAX_TOKENS} tokens")
        # Redacted as it arrives: quotes from it are cut short later, and a cut key is no longer found.
        content = choice.message.content
        return (self.redactor.text(content) if isinstance(content, str) else content), shape

    def complete(self, chat: list[dict[str, str]], output: tuple[str, dict[str, Any]]) -> str | None:
        """The text of one completion of any chat, asked for a reply of the `output` schema.

        Raises `GradingFailed` (the endpoint failed for good) or `InvalidReply` (no usable reply).
        """
        content, _ = self._complete(chat, self.memory.get(self.memory_key), Usage(), output)
        return content

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
            return self._redacted(Grade.failed(self.name, str(failed), latency_ms=_ms(started), **meta))
        return self._redacted(grade.model_copy(update={"latency_ms": _ms(started), **meta}))

    def _redacted(self, grade: Grade) -> Grade:
        """The grade with no secret in any of its texts: refusals, server messages, and strings the
        reply's JSON decoding unescaped (a base64 `\\/`) come here whole."""
        return Grade.model_validate(self.redactor.data(grade.model_dump()))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
