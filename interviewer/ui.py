"""What the terminal shows (rich) and the answer editor (prompt_toolkit)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.bank import Question
from interviewer.grading.model import Grade, Verdict

if TYPE_CHECKING:
    from interviewer.store import Attempt

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

SUBMIT_HELP = "Esc then Enter, or Ctrl-D: submit · Ctrl-X Ctrl-E: open in $EDITOR · Ctrl-C: stop"
_MARK = {
    Verdict.covered: ("✓", "green"),
    Verdict.partial: ("◐", "yellow"),
    Verdict.missing: ("✗", "red"),
}


class AnswerCancelled(Exception):
    """The candidate pressed Ctrl-C in the editor; `text` is what they had typed."""

    def __init__(self, text: str):
        super().__init__("cancelled")
        self.text = text


def error(message: str) -> None:
    err_console.print(Text("error: ", style="bold red") + Text(message))


def note(message: str) -> None:
    err_console.print(Text(message, style="dim"))


# --- the answer editor ------------------------------------------------------------------------


def edit_answer(
    *, initial: str = "", toolbar: str = SUBMIT_HELP, input: Any = None, output: Any = None
) -> str:
    """A multi-line answer, typed in the terminal. Raises `AnswerCancelled` on Ctrl-C."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings

    keys = KeyBindings()

    @keys.add("c-d")
    def _submit(event: Any) -> None:
        event.app.exit(result=event.current_buffer.text)

    @keys.add("c-c")
    def _cancel(event: Any) -> None:
        event.app.exit(exception=AnswerCancelled(event.current_buffer.text))

    session: PromptSession[str] = PromptSession(
        multiline=True,
        key_bindings=keys,
        bottom_toolbar=toolbar,
        enable_open_in_editor=True,
        prompt_continuation=lambda width, line, soft: "  ",
        input=input,
        output=output,
    )
    return session.prompt("› ", default=initial)


def read_piped_answer() -> str:
    """The answer from standard input, to its end. Raises `AnswerCancelled` with what came on Ctrl-C."""
    lines: list[str] = []
    try:
        for line in sys.stdin:
            lines.append(line)
    except KeyboardInterrupt:
        raise AnswerCancelled("".join(lines)) from None
    return "".join(lines)


def confirm(question: str, *, default: bool = False) -> bool:
    """A yes/no question in the terminal; Ctrl-C or Ctrl-D mean no."""
    from prompt_toolkit import prompt

    hint = "[Y/n]" if default else "[y/N]"
    try:
        reply = prompt(f"{question} {hint} ").strip().lower()
    except (KeyboardInterrupt, EOFError):
        return False
    return default if not reply else reply in {"y", "yes"}


# --- questions and grades ---------------------------------------------------------------------


def question_panel(question: Question, *, subtitle: str | None = None) -> Panel:
    title = f"[bold]{escape(question.id)}[/] · {question.difficulty.value}"
    return Panel(
        Text(question.prompt, style="bold"),
        title=title,
        title_align="left",
        subtitle=subtitle,
        subtitle_align="left",
    )


def attempt_line(question_id: str, grade: Grade) -> Text:
    line = Text.assemble(f"{question_id}: ", score_text(grade.score, grade.status))
    if grade.failure:
        line.append(f"  {grade.failure}", style="red")
    return line


def grader_label(grader: str) -> str:
    return "offline estimate" if grader == "offline" else grader


def score_text(score: float | None, status: str = "graded") -> Text:
    if status == "failed":
        return Text("failed", style="bold red")
    if status == "pending" or score is None:
        return Text("pending", style="yellow")
    style = "green" if score >= 7 else "yellow" if score >= 4 else "red"
    return Text(f"{score:g}/10", style=f"bold {style}")


def grade_view(question: Question, grade: Grade, *, show_reference: bool = True) -> Group:
    parts: list[Any] = []
    if not grade.ok:
        parts.append(Text.assemble(("Not graded: ", "bold red"), grade.failure or "unknown reason"))
        parts.append(Text("Your answer is saved; `interviewer grade latest` grades it again.", style="dim"))
        return Group(*parts)

    head = Text.assemble(
        ("\nScore ", "bold"), score_text(grade.score), "  ", (f"({grader_label(grade.grader)})", "dim")
    )
    if grade.cap_reason:
        head.append(f"\nHeld to at most {grade.cap:g}: {grade.cap_reason}.", style="yellow")
    parts.append(head)

    points = Table.grid(padding=(0, 1))
    points.add_column(width=1)
    points.add_column(ratio=1)
    for kp in grade.key_points:
        mark, style = _MARK[kp.verdict]
        line = Text(kp.point, style="bold" if kp.verdict is Verdict.covered else "")
        if kp.why:
            line.append(f"  ({kp.why})", style="dim")
        if kp.evidence:
            line.append(f"\n“{kp.evidence}”", style="italic dim")
        points.add_row(Text(mark, style=style), line)
    parts += [Text("\nKey points", style="bold underline"), points]

    if grade.errors:
        parts.append(Text("\nErrors", style="bold underline red"))
        for finding in grade.errors:
            line = Text.assemble(("• ", "red"), finding.text, (f"  [{finding.severity}]", "dim"))
            if finding.evidence:
                line.append(f"\n  “{finding.evidence}”", style="italic dim")
            parts.append(line)
    covered = {kp.point for kp in grade.key_points if kp.verdict is Verdict.covered}
    strengths = [s for s in grade.strengths if s not in covered]  # the offline grader's repeat the checklist
    if strengths:
        parts.append(Text("\nStrengths", style="bold underline green"))
        parts += [Text(f"• {item}") for item in strengths]
    if grade.improvements:
        parts.append(Text("\nTo improve", style="bold underline"))
        parts += [Text(f"• {item}") for item in grade.improvements]
    if show_reference:
        parts.append(Text(""))
        parts.append(
            Panel(
                Text(question.reference.strip()),
                title="Reference answer",
                title_align="left",
                border_style="blue",
            )
        )
        if question.note:
            parts.append(Text(f"Note: {question.note.strip()}", style="dim"))
    return Group(*parts)


# --- lists ------------------------------------------------------------------------------------


def question_detail(question: Question, source: str | None) -> Group:
    points = Table(header_style="bold", show_edge=False)
    points.add_column("weight", justify="right")
    points.add_column("key point")
    points.add_column("offline grader matches", style="dim")
    for kp in question.key_points:
        points.add_row(f"{kp.weight:g}", kp.point, "  +  ".join(kp.terms))
    parts: list[Any] = [
        question_panel(question),
        Text.assemble(
            ("topic ", "dim"),
            question.topic,
            ("  difficulty ", "dim"),
            question.difficulty.value,
            ("  hash ", "dim"),
            question.content_hash,
            *((("  file ", "dim"), source) if source else ()),
        ),
        Panel(
            Text(question.reference.strip()),
            title="Reference answer",
            title_align="left",
            border_style="blue",
        ),
    ]
    if question.note:
        parts.append(Text(f"Note: {question.note.strip()}", style="yellow"))
    parts.append(points)
    if question.misconceptions:
        parts.append(Text("Misconceptions the grader flags", style="bold"))
        parts += [Text(f"• {m.point} [{m.severity}]") for m in question.misconceptions]
    return Group(*parts)


def history_table(attempts: Sequence[Attempt]) -> Table:
    table = Table(header_style="bold")
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("session", no_wrap=True)
    table.add_column("mode", no_wrap=True)
    table.add_column("question", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("grader")
    for a in attempts:
        table.add_row(
            a.submitted_at.replace("T", " ")[:16],
            a.session_id,
            a.mode,
            a.question_id,
            score_text(a.score, a.grade_status),
            grader_label(a.grader) if a.grader else "",
        )
    return table
