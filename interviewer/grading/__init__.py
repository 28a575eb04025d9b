"""Grading: the `Grader` protocol, the `Grade` model and score formula, and the graders."""

from typing import Protocol

from interviewer.bank import Question
from interviewer.grading.model import Grade


class Grader(Protocol):
    name: str

    def grade(self, question: Question, answer: str) -> Grade: ...
