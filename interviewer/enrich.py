"""Key points, term lists and misconceptions proposed by an LLM for questions written without them.

The model sees the question and its reference (fenced as data, prompts/enrich_*.j2) and proposes;
this module decides. A key point stays only if the reference supports it (most of its words are
the reference's) and it has a concept found in the reference; a concept's other alternatives are
the phrasings the model lists beside it. What the model invents is dropped, and a question whose
proposal holds nothing usable keeps the key points derived offline. Everything kept is marked with
the model's name (`derived`), for the author to review.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from interviewer.grading import text
from interviewer.grading.llm import InvalidReply, _fence_safe, _Reply, extract_json, prompt_environment

if TYPE_CHECKING:
    from interviewer.grading.llm import LLMGrader

SUPPORT_SHARE = 0.5  # of a key point's own words (beyond the question's) that the reference must hold
MAX_POINTS, MAX_TERMS, MAX_MISCONCEPTIONS = 8, 6, 4


class ProposedPoint(_Reply):
    point: str
    weight: float
    terms: list[str]


class ProposedMisconception(_Reply):
    point: str
    terms: list[str]
    why: str
    fatal: bool = False  # a model that leaves it out proposes no cap


class Proposal(_Reply):
    key_points: list[ProposedPoint]
    misconceptions: list[ProposedMisconception]


@dataclass
class Enriched:
    """What was kept of a proposal, as bank data, and what was dropped and why."""

    key_points: list[dict[str, Any]]
    misconceptions: list[dict[str, Any]]
    dropped: list[str] = field(default_factory=list)


class EnrichFailed(Exception):
    """The model's proposals for a question held nothing usable, even after a repair."""


def output() -> tuple[str, dict[str, Any]]:
    """The reply's schema, every field required: strict structured output wants each one named,
    though a reply read in JSON mode may leave out what has a default."""
    schema = Proposal.model_json_schema()
    for model in (schema, *schema.get("$defs", {}).values()):
        model["required"] = list(model["properties"])
    return "bank_key_points", schema


def messages(prompt: str, reference: str, nonce: str | None = None) -> list[dict[str, str]]:
    """The static instructions first, then the question and reference fenced as data."""
    env = prompt_environment()
    user = env.get_template("enrich_user.j2").render(
        prompt=_fence_safe(prompt),
        reference=_fence_safe(reference.strip()),
        nonce=nonce or secrets.token_hex(8),
    )
    return [
        {"role": "system", "content": env.get_template("enrich_system.j2").render()},
        {"role": "user", "content": user},
    ]


def _keys(words: str) -> frozenset[str]:
    """A text's stemmed content words, its negations as "not"."""
    return frozenset(w.key for s in text.split_sentences(words) for c in s.clauses for w in c)


def _alternatives(concept: str) -> list[str]:
    return [alt.strip() for alt in concept.split("|") if text.phrase_keys(alt)]


def _said(keys: tuple[str, ...], sentences: list[text.Sentence]) -> set[bool]:
    """How the reference says a phrase: True where it affirms it, False where it denies it."""
    return {
        text.negator_of(sentence, found) is None
        for sentence in sentences
        for clause in sentence.clauses
        if (found := text.find_phrase(clause, keys))
    }


def _grounded(concept: str, reference: list[text.Sentence], asked: frozenset[str]) -> str | None:
    """The concept, if one of its alternatives is in the reference and says more than the question;
    denied ("not co-adapt") where the reference only denies it, as the grader must read it then."""
    alternatives = _alternatives(concept)
    said: set[bool] = set()
    for keys in map(text.phrase_keys, alternatives):
        if not set(keys) <= asked:
            said |= _said(keys, reference)
    if not said:
        return None
    if said == {False}:
        alternatives = [alt if text.NOT in text.phrase_keys(alt) else f"not {alt}" for alt in alternatives]
    return " | ".join(alternatives)


def check(proposal: Proposal, prompt: str, reference: str) -> Enriched:
    """Keep what the reference supports; raise `InvalidReply` when no key point is left."""
    from interviewer.bank import Question

    ref, asked, sentences = _keys(reference), text.vocabulary(prompt), text.split_sentences(reference)
    kept = Enriched([], [])
    for p in proposal.key_points[:MAX_POINTS]:
        said = _keys(p.point) - asked
        terms = [c for t in p.terms if (c := _grounded(t, sentences, asked))][:MAX_TERMS]
        if not said or len(said & ref) < SUPPORT_SHARE * len(said):
            kept.dropped.append(f"key point {p.point!r}: the reference does not say it")
        elif not terms:
            kept.dropped.append(f"key point {p.point!r}: none of its terms is in the reference")
        else:
            weight = p.weight if 0 < p.weight <= 10 else 1.0
            kept.key_points.append({"point": p.point.strip(), "weight": weight, "terms": terms})
    if not kept.key_points:
        raise InvalidReply(
            "no key point is supported by the reference answer: " + "; ".join(kept.dropped[:3])
        )
    for m in proposal.misconceptions[:MAX_MISCONCEPTIONS]:
        terms = [" | ".join(alts) for t in m.terms if (alts := _alternatives(t))][:MAX_TERMS]
        if m.point.strip() and terms:
            kept.misconceptions.append(
                {"point": m.point.strip(), "terms": terms, "why": m.why.strip() or None}
                | ({"fatal": True} if m.fatal else {})
            )
        else:
            kept.dropped.append(f"misconception {m.point!r}: no terms to recognise it by")
    try:  # as the bank will read it
        Question.model_validate(
            {"id": "x/y", "topic": "x", "difficulty": "medium", "prompt": prompt, "reference": reference}
            | {"key_points": kept.key_points, "misconceptions": kept.misconceptions}
        )
    except ValidationError as exc:
        raise InvalidReply(f"the proposal is not a valid bank question: {exc.errors()[0]['msg']}") from None
    return kept


def parse(content: str | None, prompt: str, reference: str) -> Enriched:
    if not content or not content.strip():
        raise InvalidReply("the reply is empty")
    try:
        proposal = Proposal.model_validate(extract_json(content))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise InvalidReply(
            f"the reply does not match the schema at {where or 'the top'}: {error['msg']}"
        ) from None
    return check(proposal, prompt, reference)


class Enricher:
    """Asks the configured LLM for a question's key points; one repair when its reply is unusable."""

    def __init__(self, llm: LLMGrader):
        self.llm = llm
        self.name = llm.settings.model

    def enrich(self, prompt: str, reference: str) -> Enriched:
        """Raises `EnrichFailed` for an unusable proposal, `GradingFailed` when the endpoint fails."""
        chat = messages(prompt, reference)
        content = None
        try:
            content = self.llm.complete(chat, output())
            return parse(content, prompt, reference)
        except InvalidReply as first:
            repair = f"Your reply is not valid: {first}. Reply again with only the corrected JSON object."
            chat = [
                *chat,
                {"role": "assistant", "content": content or ""},
                {"role": "user", "content": repair},
            ]
            try:
                return parse(self.llm.complete(chat, output()), prompt, reference)
            except InvalidReply as second:
                raise EnrichFailed(
                    f"the model's proposal was not usable, even after a repair: {second}"
                ) from None

    def apply(self, questions: list[dict[str, Any]]) -> list[str]:
        """Give each question without key points the model's; return a line per question not enriched
        and per proposal dropped. Questions stay as they were where the proposal was unusable."""
        notes = []
        for question in questions:
            if question.get("key_points"):
                continue
            try:
                found = self.enrich(question["prompt"], question["reference"])
            except EnrichFailed as failed:
                notes.append(f"{question['id']}: keeps its offline key points: {failed}")
                continue
            question.update(
                key_points=found.key_points, misconceptions=found.misconceptions, derived=self.name
            )
            notes += [f"{question['id']}: dropped {d}" for d in found.dropped]
        return notes
