"""The `Grade` every grader returns, and the one score formula both graders share."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

# Credit per verdict and deduction per error: the whole scoring rubric, in one place.
CREDIT = {"covered": 1.0, "partial": 0.5, "missing": 0.0}
DEDUCTION = {"major": 2.0, "minor": 1.0}
# The longest evidence quote kept, for both graders; the grading prompt asks the model for no more.
EVIDENCE_CHARS = 200


def shorten_quote(quote: str) -> str:
    """A quote cut to EVIDENCE_CHARS, its end marked by an ellipsis."""
    return quote if len(quote) <= EVIDENCE_CHARS else quote[: EVIDENCE_CHARS - 1].rstrip() + "\u2026"


# How the reason of a grade failed for want of a connection to the endpoint begins.
UNREACHABLE = "cannot connect to "


def endpoint_unreachable(failure: str | None) -> bool:
    """Whether a failed grade's reason says the grading endpoint could not be reached."""
    return failure is not None and failure.startswith(UNREACHABLE)


class Verdict(StrEnum):
    covered = "covered"
    partial = "partial"
    missing = "missing"


class PointVerdict(BaseModel):
    point: str
    weight: float
    verdict: Verdict
    evidence: str | None = None  # a quote from the answer
    why: str | None = None  # short reason, e.g. "stated the opposite"
    recovered: bool = False  # said only in a follow-up answer, after a prompt: at most partial credit


class Finding(BaseModel):
    """An error or misconception found in the answer."""

    text: str
    severity: Literal["minor", "major"] = "major"
    evidence: str | None = None
    why: str | None = None  # why it is wrong, for the candidate to read


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


class Grade(BaseModel):
    status: Literal["graded", "failed"] = "graded"
    grader: str  # "offline" or "llm:<model>"
    score: float | None = Field(default=None, ge=0, le=10)
    key_points: list[PointVerdict] = Field(default_factory=list)
    errors: list[Finding] = Field(default_factory=list)
    strengths: list[str] = Field(default_factory=list)
    improvements: list[str] = Field(default_factory=list)
    cap: float | None = None  # the ceiling the score was held to, if any
    cap_reason: str | None = None
    injection_suspected: bool = False
    notes: list[str] = Field(default_factory=list)  # what the grader's own checks changed, for the candidate
    prompt_hash: str | None = None
    usage: Usage | None = None
    latency_ms: float | None = None
    failure: str | None = None  # why no grade could be obtained

    @property
    def ok(self) -> bool:
        return self.status == "graded"

    @classmethod
    def failed(cls, grader: str, reason: str, **extra: Any) -> Grade:
        return cls(status="failed", grader=grader, failure=reason, **extra)


def compute_score(verdicts: list[PointVerdict], errors: list[Finding], cap: float | None = None) -> float:
    """Weighted key-point coverage on 0-10, minus deductions for errors, held under `cap`."""
    total = sum(v.weight for v in verdicts)
    coverage = sum(v.weight * CREDIT[v.verdict.value] for v in verdicts) / total if total else 0.0
    score = 10.0 * coverage - sum(DEDUCTION[e.severity] for e in errors)
    if cap is not None:
        score = min(score, cap)
    return round(min(10.0, max(0.0, score)), 1)
