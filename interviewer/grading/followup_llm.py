"""Follow-up questions written by the LLM grader's model: one short question aimed at the answer's gap.

A follow-up must show while the candidate is still in the interview's flow, so it gets one request,
a short deadline, no retry and no repair round: a reply that is late, refused, or not a good
follow-up gives way to the fallback source (the bank's follow-up), and nothing is raised to the
interview. The reply is streamed when the server streams. `on_text` always receives the follow-up
so far, whole (a later call replaces what an earlier one showed): only text that passed every check
a part of the reply can pass is shown, and when the whole reply fails, what was shown is replaced by
the fallback's follow-up, or withdrawn with "".
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from interviewer.bank import Question
from interviewer.grading import completion
from interviewer.grading.injection import injection_phrase
from interviewer.grading.llm import (
    LLMGrader,
    _connection_failure,
    explain,
    not_an_api,
    prompt_environment,
    question_message,
)
from interviewer.grading.text import phrase_keys, split_sentences

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

TIMEOUT = 15.0  # seconds for the whole follow-up, at most: the candidate is waiting for it
MAX_WORDS = 40
MAX_TOKENS = 200  # a question of 40 words is about 60 tokens
HELD_WORDS = 3  # words held back at the start, until a label such as "Follow-up question:" is known
ECHO_WORDS = 8  # a run of this many of the answer's words, copied, is an echo of the candidate's text
# "Follow-up:", "**Question 1:**", "Interviewer:" before the question; quotes and bold around it.
_LABEL = re.compile(
    r"^(?:[-*>\u2022]\s+)?(?:\*\*|__)?(?:follow[- ]?up(?:\s+question)?|question|interviewer|q)\s*\d*\s*"
    r"(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*",
    re.I,
)
_WRAPPING = "\"'`*\u201c\u201d\u2018\u2019 "


class NotAFollowUp(ValueError):
    """The model's reply is not a follow-up to show; the message says why."""


class FollowUpSource(Protocol):
    def follow_up(
        self, question: Question, answer: str, *, on_text: Callable[[str], None] | None = None
    ) -> str | None: ...


# --- what a good follow-up is --------------------------------------------------------------------


def cleaned(reply: str) -> str:
    """The question in a reply: one line, without a label or the quotes around it."""
    text = " ".join(reply.split()).strip(_WRAPPING)
    text = _LABEL.sub("", text, count=1)
    return text.strip(_WRAPPING)


def problem(text: str, question: Question, answer: str, *, whole: bool = True) -> str | None:
    """What is wrong with `text` as the follow-up to `answer`, or None.

    With `whole=False`, `text` is the start of a reply still arriving, and only what more words
    cannot mend counts: too many words, a second sentence, an answer given away, an echo.
    """
    words = text.split()
    if whole and not words:
        return "the reply is empty"
    if len(words) > MAX_WORDS:
        return f"it is longer than {MAX_WORDS} words"
    if len(split_sentences(text)) > 1 or text.count("?") > 1 or "?" in text.rstrip("?"):
        return "it is more than one question"
    if whole and not text.endswith("?"):
        return "it is not a question"
    return _echo(text, answer) or _leak(text, question, answer)


def _echo(text: str, answer: str) -> str | None:
    """Why the follow-up repeats the candidate's text rather than asking, if it does: an
    instruction, the prompt's markers, or a long run of the answer's words."""
    if injection_phrase(text):
        return "it repeats an instruction"
    if "<<<" in text or ">>>" in text:
        return "it repeats the prompt's markers"
    asked, said = text.lower().split(), answer.lower().split()
    runs = {tuple(said[i : i + ECHO_WORDS]) for i in range(len(said) - ECHO_WORDS + 1)}
    if any(tuple(asked[i : i + ECHO_WORDS]) in runs for i in range(len(asked) - ECHO_WORDS + 1)):
        return f"it copies {ECHO_WORDS} or more words of the answer"
    return None


def _leak(text: str, question: Question, answer: str) -> str | None:
    """Why the follow-up gives a key point away, if it does.

    A key point's term (any alternative of one of its concepts, compared stemmed, as the offline
    grader compares them) is new when some of its words are in neither the question nor the answer.
    The follow-up gives the point away when it names a new term of two words or more ("squared
    gradients", "bias correction"), or when it names a term of every concept of the point and one
    of them is new (it would state the point). A lone new word of one concept ("gradients") is a
    hint an interviewer may give.
    """
    asked = phrase_keys(text)
    said = frozenset(phrase_keys(f"{question.prompt}\n{answer}"))
    for number, point in enumerate(question.key_points, start=1):
        concepts_named, new = 0, []
        for concept in point.terms:
            named = [keys for keys in _alternatives(concept) if _contains(asked, keys)]
            concepts_named += bool(named)
            new += [keys for keys in named if not set(keys) <= said]
        long_term = next((keys for keys in new if len(keys) > 1), None)
        if long_term or (new and concepts_named == len(point.terms)):
            return f"it gives key point {number} away"
    return None


@cache
def _alternatives(concept: str) -> tuple[tuple[str, ...], ...]:
    return tuple(keys for alt in concept.split("|") if (keys := phrase_keys(alt)))


def _contains(words: tuple[str, ...], keys: tuple[str, ...]) -> bool:
    n = len(keys)
    return any(words[i : i + n] == keys for i in range(len(words) - n + 1))


# --- what the candidate sees while it arrives ----------------------------------------------------


class _Shown:
    """What `on_text` has been given so far."""

    def __init__(self, on_text: Callable[[str], None] | None):
        self._on_text = on_text
        self.text = ""

    def show(self, text: str) -> None:
        if self._on_text is not None and text != self.text:
            self.text = text
            self._on_text(text)

    def withdraw(self) -> None:
        self.show("")


class _Arriving:
    """A streamed reply, checked as it grows: each complete word is shown once the text up to it
    passes the checks a part can pass; the first that fails ends the reply."""

    def __init__(self, question: Question, answer: str, shown: _Shown, redact: Callable[[str], str]):
        self.question, self.answer, self.shown, self.redact = question, answer, shown, redact
        self.raw = ""

    def add(self, piece: str) -> None:
        self.raw += piece
        complete = self.raw[: max(self.raw.rfind(" "), self.raw.rfind("\n"), 0)]
        if len(complete.split()) < HELD_WORDS:
            return
        text = cleaned(self.redact(complete))  # a key is shown only once whole, so redacted
        why = problem(text, self.question, self.answer, whole=False)
        if why:
            raise NotAFollowUp(why)
        self.shown.show(text)


# --- the source ---------------------------------------------------------------------------------


class LLMFollowUps:
    """Follow-ups asked of the model the LLM grader uses, through its client; `fallback` (the bank's
    follow-ups, or None) answers whenever the model's follow-up cannot be had."""

    def __init__(
        self,
        grader: LLMGrader,
        fallback: FollowUpSource | None = None,
        *,
        timeout: float = TIMEOUT,
        stream: bool = True,
    ):
        self.grader = grader
        self.fallback = fallback
        # Off for a server that mishandles streamed requests (llama-cpp-python's server has had a
        # crash on them, abetlen/llama-cpp-python#1861): the reply then comes whole.
        self.stream = stream
        self.timeout = min(timeout, grader.settings.timeout)
        self.last_failure: str | None = None  # why the last follow-up came from the fallback, in one line
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> openai.OpenAI:
        """The grader's client, sending once with the follow-up's short timeout."""
        with self._lock:
            if self._client is None:
                self._client = self.grader.client.with_options(max_retries=0, timeout=self.timeout)
            return self._client

    def follow_up(
        self, question: Question, answer: str, *, on_text: Callable[[str], None] | None = None
    ) -> str | None:
        shown = _Shown(on_text)
        try:
            text = self._ask(question, answer, shown)
        except Exception as exc:  # whatever happens, the interview goes on with the fallback
            self.last_failure = self._reason(exc)
            log.info("no follow-up from the model (%s): using the fallback", self.last_failure)
            return self._fall_back(question, answer, shown)
        self.last_failure = None
        return text

    def _ask(self, question: Question, answer: str, shown: _Shown) -> str:
        from interviewer.grading.transport import deadline

        arriving = _Arriving(question, answer, shown, self.grader.redactor.text)
        with (
            deadline(self.timeout),
            self.client.chat.completions.with_streaming_response.create(
                **self._request(question, answer)
            ) as reply,
        ):
            if reply.headers.get("content-type", "").startswith("text/event-stream"):
                for piece in _pieces(reply.iter_lines()):
                    arriving.add(piece)
                raw = arriving.raw
            else:  # a server that does not stream sends the whole completion
                raw = _content(reply.read())
        text = cleaned(self.grader.redactor.text(raw))
        why = problem(text, question, answer)
        if why:
            raise NotAFollowUp(why)
        shown.show(text)
        return text

    def _request(self, question: Question, answer: str) -> dict[str, Any]:
        """Plain text, in the shape the endpoint took for grades (temperature, seed, token limit)."""
        shape = replace(self.grader.memory.get(self.grader.memory_key), mode="text")
        chat = [
            {"role": "system", "content": _system_prompt()},
            {"role": "user", "content": question_message(question, answer)},
        ]
        return {
            **shape.request(self.grader.settings.model, chat),
            shape.tokens_param: MAX_TOKENS,
            "stream": self.stream,
        }

    def _reason(self, exc: Exception) -> str:
        import httpx2
        import openai

        if isinstance(exc, NotAFollowUp):
            return f"the model's follow-up was not usable: {exc}"
        if isinstance(exc, completion.NotACompletion):
            return not_an_api(self.grader.settings.shown_endpoint, str(exc))
        if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):  # also while it streamed
            return f"no follow-up from {self.grader.settings.shown_endpoint} within {self.timeout:g} s"
        if isinstance(exc, httpx2.TransportError):  # the connection failed while the reply streamed
            return _connection_failure(exc, self.grader.settings.shown_endpoint)
        return explain(exc, self.grader.settings, retries=0)  # redacted: no key in it

    def _fall_back(self, question: Question, answer: str, shown: _Shown) -> str | None:
        text = None
        if self.fallback is not None:
            try:
                text = self.fallback.follow_up(question, answer, on_text=shown.show)
            except Exception:
                log.exception("the fallback follow-up failed")
        if text is None:
            shown.withdraw()
        return text


@cache
def _system_prompt() -> str:
    return str(prompt_environment().get_template("followup_system.j2").render(max_words=MAX_WORDS))


def _pieces(lines: Iterable[str]) -> Iterable[str]:
    """The text of each chunk of a server-sent event stream of chat completion chunks."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank lines between events, comments, event names
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            choice = json.loads(data)["choices"][0]
            delta, finish_reason = choice.get("delta") or {}, choice.get("finish_reason")
        except (ValueError, LookupError, TypeError, AttributeError):
            raise NotAFollowUp("a chunk of the streamed reply is not a chat completion chunk") from None
        _check_finish(finish_reason, delta)
        content = delta.get("content")
        if isinstance(content, str):
            yield content


def _content(body: bytes) -> str:
    """The text of a whole (not streamed) completion."""
    result = completion.parse(body)
    if not result.choices:
        raise NotAFollowUp("the reply has no choices")
    choice = result.choices[0]
    _check_finish(choice.finish_reason, {"refusal": choice.message.refusal})
    return choice.message.content or ""


def _check_finish(finish_reason: Any, message: dict[str, Any]) -> None:
    if message.get("refusal"):
        raise NotAFollowUp("the model refused")
    if finish_reason in {"length", "content_filter"}:
        raise NotAFollowUp(f"the reply was cut off ({finish_reason})")
