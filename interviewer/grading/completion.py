"""A Chat Completions response, as the LLM grader reads it, checked: compatible servers send anything.

The openai client builds its response objects without validating them, so `choices` sent as a
string, or token counts sent as words, surface later as Python errors that tell a user nothing.
Only the parts grading reads are checked here; whatever else a server adds is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError


class NotACompletion(ValueError):
    """The body is not a Chat Completions response; the message says what is wrong, for a user."""


class Message(BaseModel):
    content: str | None = None
    refusal: str | None = None


class Choice(BaseModel):
    message: Message
    finish_reason: str | None = None


class TokenDetails(BaseModel):
    cached_tokens: int | None = None


class TokenUsage(BaseModel):
    prompt_tokens: int | None = None  # a count sent as a string of digits is taken as that number
    completion_tokens: int | None = None
    prompt_tokens_details: TokenDetails | None = None


class Completion(BaseModel):
    choices: list[Choice]
    usage: TokenUsage | None = None


def parse(body: bytes) -> Completion:
    """The completion in a response body, or NotACompletion saying what is wrong with it."""
    try:
        data = json.loads(body)
    except ValueError:
        shown = "a web page" if body.lstrip()[:1] == b"<" else "something else"
        raise NotACompletion(f"its reply is {shown}, not JSON") from None
    try:
        return Completion.model_validate(data)
    except ValidationError as exc:
        raise NotACompletion(_problem(exc.errors()[0])) from None


# What a pydantic error type expected, in JSON's words.
_EXPECTED = {
    "list_type": "a list",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def _problem(error: Any) -> str:
    """One validation error as a clause a user reads: "`choices` in its reply is a string, not a list"."""
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    subject = f"`{path}` in its reply" if path else "its reply"
    if error["type"] == "missing":
        return f"its reply has no `{path}`"
    expected = _EXPECTED.get(error["type"])
    if expected is None:
        return f"{subject}: {error['msg']}"
    return f"{subject} is {_json_kind(error['input'])}, not {expected}"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    kinds = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)
