"""Grading: the `Grader` protocol, the `Grade` model and score formula, and the graders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from interviewer.bank import Question
from interviewer.grading.model import Grade

if TYPE_CHECKING:
    from interviewer.config import Settings


class Grader(Protocol):
    name: str

    def grade(self, question: Question, answer: str) -> Grade: ...


def make_grader(settings: Settings, cache_dir: Path | None = None) -> Grader:
    """The grader the settings choose: the LLM behind the configured endpoint, or offline."""
    if settings.choose_grader() == "offline":
        from interviewer.grading.offline import OfflineGrader

        return OfflineGrader()
    from interviewer.grading.llm import LLMGrader, ModeMemory

    return LLMGrader(settings, memory=ModeMemory(cache_dir / "llm-modes.json" if cache_dir else None))
