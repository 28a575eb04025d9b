"""The candidate at the terminal, as the interview loops (`interviewer.interview`) see them: each
question shown and answered in the editor, the feedback drawn, and progress while grades come in."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from interviewer import ui
from interviewer.bank import Question
from interviewer.interview import Change, Reply
from interviewer.session import Graded, Turn


class _Writing:
    """A follow-up shown as a model writes it: a panel redrawn in place, which makes way for the
    asked follow-up once it is complete."""

    def __init__(self) -> None:
        self._live: Any = None  # a rich Live, while a follow-up is being written

    def show(self, text: str) -> None:
        from rich.live import Live

        if self._live is None:
            self._live = Live(console=ui.console, transient=True, auto_refresh=False)
            self._live.start()
        self._live.update(ui.follow_up_panel(text or "…", "follow-up"), refresh=True)

    def done(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class TerminalMock:
    """A mock interview in the terminal: the countdown editor, no feedback until the end."""

    def __init__(self) -> None:
        self._writing = _Writing()

    def ready(self) -> bool:
        return ui.confirm("Ready? The clock starts when you press Enter.", default=True)

    def answer(self, turn: Turn, count: int) -> Reply:
        self._writing.done()
        if turn.follow_up is not None:
            ui.console.print(
                ui.follow_up_panel(turn.follow_up, f"Question {turn.number}/{count} · follow-up")
            )
            return ui.timed_answer(f"Q{turn.number}/{count} · follow-up", turn.limit)
        ui.console.print(ui.mock_question(turn.number, count, turn.question))
        return ui.timed_answer(f"Q{turn.number}/{count} · {turn.question.topic}", turn.limit)

    def later_answers(self) -> Sequence[str]:
        return ()

    def writing(self) -> Callable[[str], None]:
        return self._writing.show

    def note(self, message: str) -> None:
        ui.note(message)

    @contextmanager
    def waiting(self) -> Iterator[Callable[[int, int], None]]:
        with ui.console.status("") as spinner:
            yield lambda done, total: spinner.update(f"Grading: {done}/{total} answers graded…")


class TerminalPractice:
    """Practice in the terminal: the editor, then the feedback; a retry starts on a clean screen with
    the previous answer in the editor and the reference out of sight."""

    def __init__(self, rating: str | None = None) -> None:
        self._attempts = 0
        self._writing = _Writing()
        self._rating = rating  # given with --rate: not asked

    def answer(self, question: Question, draft: str) -> str:
        if self._attempts:
            ui.console.clear()
        self._attempts += 1
        ui.console.print(ui.question_panel(question, subtitle=ui.SUBMIT_HELP))
        while True:
            text = ui.edit_answer(initial=draft)
            if text.strip():
                return text
            ui.note("The answer is empty. Type an answer, or press Ctrl-C to stop.")
            draft = text

    def follow_up(self, prompt: str) -> str:
        self._writing.done()
        ui.console.print(ui.follow_up_panel(prompt, "follow-up"))
        return ui.edit_answer()

    def writing(self) -> Callable[[str], None]:
        return self._writing.show

    def grading(self, grader: str) -> AbstractContextManager[object]:
        if grader == "offline":
            return nullcontext()
        return ui.console.status(ui.plain(f"Grading with {grader}…"))

    def graded(self, result: Graded, since: Change | None) -> None:
        if since is not None:
            ui.console.print(ui.change_view(since))
        ui.console.print(ui.grade_view(result.question, result.grade))

    def again(self) -> bool:
        return ui.confirm("Try again? (your answer stays in the editor)")

    def rating(self, result: Graded) -> str | None:
        if self._rating is not None or not result.grade.ok:  # a failed grade is no review to rate
            return self._rating
        return ui.ask_rating()

    def note(self, message: str) -> None:
        ui.note(message)
