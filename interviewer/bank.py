"""Question banks: TOML files read into validated `Question`s, and selection from them."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from interviewer import bank_cache
from interviewer.bank_cache import BANK_ENV, Listed, bank_files, check_topics, paths_from_env
from interviewer.errors import BankError, UsageError
from interviewer.inputs import read_toml

__all__ = ["BANK_ENV", "Bank", "Difficulty", "Question", "bank_files", "load", "paths_from_env"]
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$"


class Difficulty(StrEnum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


class _Strict(BaseModel):
    # defer_build: a bank read from the cache never validates, so never pays for building schemas.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)


NonEmpty = Annotated[str, Field(min_length=1)]


def _check_alternatives(concept: str) -> str:
    if any(not alt.strip() for alt in concept.split("|")):
        raise ValueError(f"empty alternative in {concept!r}")
    return concept


# One idea and its phrasings: "moving average | momentum | first moment".
Concept = Annotated[str, Field(min_length=1), AfterValidator(_check_alternatives)]


class KeyPoint(_Strict):
    """One thing a good answer says, and the words the offline grader may recognise it by.

    `terms` lists the concepts that must all appear together (in one sentence) for the point to be
    covered; each concept lists its alternatives separated by `|`, e.g.
    `["moving average | momentum", "gradient"]`. `about` names what the point is about, where a
    question compares several things ("l1 | lasso"): the point then counts only where it is said of
    that thing, not of another point's `about`.
    """

    point: NonEmpty
    weight: float = Field(default=1.0, gt=0, le=10)
    terms: list[Concept] = Field(min_length=1, max_length=6)
    about: Concept | None = None


class Misconception(_Strict):
    """A wrong claim a candidate may make; `terms` as in `KeyPoint`, matched within one clause.

    `why` says why the claim is wrong, in a sentence the candidate reads beside the error. `about`,
    as in `KeyPoint`, binds the claim to its subject: "the fraction of actual positives found" is
    wrong only when said of precision.

    `fatal` marks a claim that gets the very thing asked about wrong (a swapped, reversed or
    confused definition: dropout as data augmentation, self-attention as cross-attention), which an
    interviewer would fail whatever else the answer says: the offline grader holds such an answer
    to 2.
    """

    point: NonEmpty
    terms: list[Concept] = Field(min_length=1, max_length=6)
    severity: Literal["minor", "major"] = "major"
    why: str | None = None
    about: Concept | None = None
    fatal: bool = False


class FollowUp(_Strict):
    """A question the interviewer asks after the candidate's answer.

    `probes` numbers the key points (from 1) whose gap it aims at: it is asked when those are missed
    or got wrong. A follow-up that probes none goes deeper, for an answer that missed nothing.
    """

    prompt: NonEmpty
    probes: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)


class Question(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    topic: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    difficulty: Difficulty
    prompt: NonEmpty
    reference: NonEmpty
    key_points: list[KeyPoint] = Field(default_factory=list, max_length=8)
    misconceptions: list[Misconception] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    note: str | None = None
    # Who wrote the key points when the author did not: "offline" (derived from the reference at
    # load time) or the model that proposed them at import, for the author to review.
    derived: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _derive_missing_key_points(cls, data: Any) -> Any:
        """A question written with only a prompt and a reference gets key points from its reference."""
        if not isinstance(data, dict) or data.get("key_points"):
            return data
        prompt, reference = data.get("prompt"), data.get("reference")
        if not (isinstance(prompt, str) and isinstance(reference, str)):
            return data  # their own errors say what is wrong
        from interviewer import derive

        return {**data, "key_points": derive.key_points(prompt, reference), "derived": derive.DERIVED_OFFLINE}

    @field_validator("key_points")
    @classmethod
    def _some_key_points(cls, key_points: list[KeyPoint], info: ValidationInfo) -> list[KeyPoint]:
        if not key_points:
            reference = str(info.data.get("reference", ""))
            if any(c.isalpha() for c in reference) and not re.search(r"[A-Za-z]", reference):
                raise ValueError(
                    "none written, and the offline grader reads only Latin letters, so none can be "
                    "derived from this reference: write key_points, or import with --with-llm"
                )
            raise ValueError("none written, and the reference says nothing beyond the question's own words")
        return key_points

    @field_validator("follow_ups")
    @classmethod
    def _follow_ups_probe_key_points(cls, follow_ups: list[FollowUp], info: ValidationInfo) -> list[FollowUp]:
        count = len(info.data.get("key_points", []))  # absent when the key points were invalid
        for follow_up in follow_ups:
            beyond = [n for n in follow_up.probes if n > count]
            if count and beyond:
                raise ValueError(
                    f"follow-up {follow_up.prompt[:40]!r} probes key point {beyond[0]}, but the question has {count}"
                )
        return follow_ups

    def snapshot(self) -> dict:
        """The question as stored with an answer: everything, plus its content hash."""
        return {**self.model_dump(mode="json"), "content_hash": self.content_hash}

    @property
    def content_hash(self) -> str:
        """A short hash of everything that affects grading, so a stored answer knows its version."""
        # Notes, the explanations of misconceptions, follow-ups and who derived the key points are for
        # the reader; they change no grade.
        payload = self.model_dump(
            mode="json",
            exclude={
                "note": True,
                "follow_ups": True,
                "derived": True,
                "misconceptions": {"__all__": {"why"}},
            },
        )
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class _BankFile(_Strict):
    topic: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: str | None = None
    questions: list[dict] = Field(min_length=1)


class Bank:
    """The questions of one or more bank files, in file order, unique by id."""

    def __init__(self, questions: Iterable[Question], sources: dict[str, Path] | None = None):
        self.questions: list[Question] = list(questions)
        self.sources = sources or {}
        self._by_id = {q.id: q for q in self.questions}

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def topics(self) -> list[str]:
        return list(dict.fromkeys(q.topic for q in self.questions))

    def get(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            close = [q.id for q in self.questions if question_id in q.id]
            hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
            raise UsageError(
                f"no question {question_id!r} in the bank{hint}; `interviewer bank list` shows them"
            ) from None

    def select(
        self,
        topics: Sequence[str] = (),
        difficulty: Difficulty | None = None,
    ) -> list[Question]:
        check_topics(topics, self.topics)
        chosen = [
            q
            for q in self.questions
            if (not topics or q.topic in topics) and (difficulty is None or q.difficulty == difficulty)
        ]
        if not chosen:
            raise UsageError("no question matches that topic and difficulty")
        return chosen

    def listing(self) -> list[Listed]:
        """The questions as `bank list` shows them."""
        return [_listed(q) for q in self.questions]

    def pick(
        self,
        topics: Sequence[str] = (),
        difficulty: Difficulty | None = None,
        rng: random.Random | None = None,
    ) -> Question:
        return (rng or random.Random()).choice(self.select(topics, difficulty))

    def interview(
        self,
        count: int,
        topics: Sequence[str] = (),
        difficulty: Difficulty | None = None,
        seed: int | None = None,
    ) -> list[Question]:
        """`count` questions without repeats, dealt round-robin over the topics; reproducible with a seed."""
        pool = self.select(topics, difficulty)
        if count > len(pool):
            raise UsageError(f"only {len(pool)} questions match; ask for at most {len(pool)}")
        rng = random.Random(seed)
        by_topic: dict[str, list[Question]] = {}
        for q in pool:
            by_topic.setdefault(q.topic, []).append(q)
        decks = list(by_topic.values())
        for deck in decks:
            rng.shuffle(deck)
        rng.shuffle(decks)
        chosen: list[Question] = []
        while len(chosen) < count:
            for deck in decks:
                if deck and len(chosen) < count:
                    chosen.append(deck.pop())
        return chosen


def _field_path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "missing":
        return "missing field"
    return str(err["msg"]).removeprefix("Value error, ")


def _question_id(raw: object, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return raw["id"]
    return f"questions[{index}]"


def load_file(path: Path) -> tuple[list[Question], list[str]]:
    """Read one bank file; return its questions and one error line per problem found."""
    try:
        data = read_toml(path)
    except UsageError as exc:
        return [], [str(exc)]

    try:
        header = _BankFile.model_validate(data)
    except ValidationError as exc:
        return [], [f"{path}: {_field_path(e['loc'])}: {_describe(e)}" for e in exc.errors()]

    questions: list[Question] = []
    problems: list[str] = []
    for index, raw in enumerate(header.questions):
        qid = _question_id(raw, index)
        if isinstance(raw, dict):
            raw = {"topic": header.topic, **raw}
        try:
            question = Question.model_validate(raw)
        except ValidationError as exc:
            problems += [f"{path}: {qid}: {_field_path(e['loc'])}: {_describe(e)}" for e in exc.errors()]
            continue
        if question.topic != question.id.split("/")[0]:
            problems.append(f"{path}: {qid}: id: must start with the topic {question.topic!r}/")
            continue
        questions.append(question)
    return questions, problems


# --- the cache of validated files (see bank_cache) --------------------------------------------------


_T = TypeVar("_T", bound=BaseModel)


def _trusted(model: type[_T], fields: dict[str, Any]) -> _T:
    """`model.model_construct(**fields)` for a dump of every field: a bank of 1,000 questions has
    ~6,000 models, and model_construct's look-ups of aliases and defaults cost ~0.1 s of `bank list`.
    """
    made = model.__new__(model)
    object.__setattr__(made, "__dict__", fields)
    object.__setattr__(made, "__pydantic_fields_set__", set(fields))
    object.__setattr__(made, "__pydantic_extra__", None)
    object.__setattr__(made, "__pydantic_private__", None)
    return made


def _construct(data: dict) -> Question:
    """A question from data this module validated and dumped whole before (no validation, no schema build)."""
    return _trusted(
        Question,
        {
            **data,
            "difficulty": Difficulty(data["difficulty"]),
            "key_points": [_trusted(KeyPoint, kp) for kp in data["key_points"]],
            "misconceptions": [_trusted(Misconception, m) for m in data["misconceptions"]],
            "follow_ups": [_trusted(FollowUp, f) for f in data["follow_ups"]],
        },
    )


def _cached(cache_dir: Path, path: Path) -> list[Question] | None:
    data = bank_cache.read(cache_dir, path, bank_cache.QUESTIONS)
    try:
        return None if data is None else [_construct(q) for q in data]
    except (ValueError, KeyError, TypeError):
        return None


def _listed(q: Question) -> Listed:
    return Listed(q.id, q.topic, q.difficulty.value, q.prompt, len(q.key_points), q.content_hash)


def cache_entries(questions: list[Question]) -> tuple[list[dict], list[Listed]]:
    """A file's validated questions as the cache keeps them: dumped whole, and as `bank list` lists them."""
    return [q.model_dump(mode="json") for q in questions], [_listed(q) for q in questions]


def _store(cache_dir: Path, path: Path, questions: list[Question]) -> None:
    bank_cache.write(cache_dir, path, *cache_entries(questions))


def load(paths: Sequence[Path] = (), *, builtin: bool = True, cache_dir: Path | None = None) -> Bank:
    """Load the built-in bank (unless `builtin` is false), then every path given.

    Raises `BankError` carrying one line per problem; nothing half-valid is returned. With
    `cache_dir`, files validated before and unchanged since are read from the cache there.
    """
    roots = bank_cache.roots(paths, builtin)
    questions: list[Question] = []
    sources: dict[str, Path] = {}
    problems: list[str] = []
    for root in roots:
        for file in bank_files(root):
            if not file.exists():
                problems.append(f"{file}: a symbolic link to {os.readlink(file)} that leads to no file")
                continue
            found = _cached(cache_dir, file.resolve()) if cache_dir else None
            if found is None:
                found, file_problems = load_file(file)
                problems += file_problems
                if cache_dir and not file_problems:
                    _store(cache_dir, file.resolve(), found)
            for question in found:
                if question.id in sources:
                    problems.append(
                        f"{file}: {question.id}: id: duplicate, first defined in {sources[question.id]}"
                    )
                    continue
                sources[question.id] = file
                questions.append(question)
    if problems:
        raise BankError("\n".join(problems))
    if not questions:
        raise BankError("the bank is empty: no questions found in " + ", ".join(map(str, roots)))
    return Bank(questions, sources)
