"""What the terminal shows (rich) and the answer editor (prompt_toolkit)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.bank import Question
from interviewer.errors import Interrupted, UsageError
from interviewer.formats import MARKS, VERDICT_BANDS, band, clock, countdown
from interviewer.grading.model import Grade, Verdict
from interviewer.inputs import MAX_ANSWER_CHARS, read_text
from interviewer.interview import AnswerCancelled, Change, Reply
from interviewer.terminal import counted, visible

if TYPE_CHECKING:
    from interviewer.calibrate import Calibration, Figures
    from interviewer.store import Attempt, FollowUpTurn, LaterFailure
    from interviewer.summary import Progress, QuestionResult, Summary

# No string printed is read as markup or emoji codes: styles come from Text objects, and names from
# users, banks or models may hold brackets ("[/]" was a MarkupError, "[link=…]" a live link).
console = Console(highlight=False, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False)

SUBMIT_HELP = "Esc Enter or Ctrl-D: submit · Ctrl-X Ctrl-E: $EDITOR · Ctrl-C: stop"  # fits 80 columns
COLOURS = {"good": "green", "fair": "yellow", "weak": "red"}  # a score's or verdict's band, on a terminal
_MARK = {verdict: (MARKS[verdict.value], COLOURS[VERDICT_BANDS[verdict.value]]) for verdict in Verdict}


# Signals that would end the process while an answer is being typed: they stop the editor as
# Ctrl-C does, so the draft is saved before the process goes.
STOP_SIGNALS = ("SIGTERM", "SIGHUP")


def _stop_on_signals(interrupt: bool = False) -> None:
    """From an editor's `pre_run`: the stop signals end it with `AnswerCancelled` and the draft, or
    at a question (`interrupt`) with `Interrupted`, as Ctrl-C would.

    The handlers live in the editor's event loop and go with it when it closes."""
    import asyncio
    import signal

    from prompt_toolkit.application import get_app

    app = get_app()

    def stop(number: int) -> None:
        if app.is_running and not app.is_done:
            cancelled = AnswerCancelled(app.current_buffer.text, signal=number)
            app.exit(exception=Interrupted(number) if interrupt else cancelled)

    loop = asyncio.get_running_loop()
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)  # SIGHUP is not on Windows
        if number is not None:
            loop.add_signal_handler(number, stop, number)


def plain(value: str, style: str = "") -> Text:
    """Text we did not write (a bank's, the candidate's, a model's), shown as it is and never obeyed:
    not read as markup, its control characters made visible (see `interviewer.terminal`)."""
    return Text(visible(value), style=style)


def note(message: str) -> None:
    err_console.print(plain(message, style="dim"))


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
        if event.current_buffer.validate(set_cursor=True):
            event.app.exit(result=event.current_buffer.text)

    @keys.add("c-c")
    def _cancel(event: Any) -> None:
        event.app.exit(exception=AnswerCancelled(event.current_buffer.text))

    _ExternalEditor(keys)
    session: PromptSession[str] = PromptSession(
        multiline=True,
        key_bindings=keys,
        bottom_toolbar=toolbar,
        prompt_continuation=lambda width, line, soft: "  ",
        input_processors=[_word_wrap()],
        validator=_within_answer_limit(),
        input=input,
        output=output,
    )
    return session.prompt("› ", default=initial, pre_run=_stop_on_signals)


class _ExternalEditor:
    """Ctrl-X Ctrl-E: the answer opens in $VISUAL or $EDITOR, and what was written there comes back
    to the answer box to be read over and submitted (prompt_toolkit's own binding submits it as
    the editor closes). `on_closed(app)` runs once the text is back."""

    def __init__(self, keys: Any, on_closed: Callable[[Any], None] | None = None):
        self.open = False
        self._on_closed = on_closed
        keys.add("c-x", "c-e")(self._edit)

    def _edit(self, event: Any) -> None:
        if self.open:
            return
        self.open = True
        app = event.app
        task = event.current_buffer.open_in_editor(validate_and_handle=False)
        task.add_done_callback(lambda _: self._closed(app))

    def _closed(self, app: Any) -> None:
        self.open = False
        if self._on_closed is not None:
            self._on_closed(app)


PROMPT_WIDTH = 2  # "› " before the first line, and the two spaces before every other row


def _word_wrap() -> Any:
    """Lines wrapped at word boundaries: prompt_toolkit wraps at the last column, cutting words in
    two ("act" at the end of one row, "ual" at the start of the next). A word that would cross the
    right edge is moved to the next row by padding shown before it; the text itself is unchanged."""
    from prompt_toolkit.layout.processors import Processor, Transformation
    from prompt_toolkit.layout.utils import explode_text_fragments
    from prompt_toolkit.utils import get_cwidth

    class WordWrap(Processor):
        def apply_transformation(self, ti: Any) -> Any:
            row = ti.width - PROMPT_WIDTH
            chars = explode_text_fragments(ti.fragments)
            text = "".join(c for _, c, *_ in chars)
            shown: list[Any] = []
            to_display = []  # source position -> display position
            column = position = 0
            for i, fragment in enumerate(chars):
                char = fragment[1]
                if char != " " and (i == 0 or text[i - 1] == " ") and column and row > 0:
                    end = text.find(" ", i)
                    word = (end if end >= 0 else len(text)) - i
                    fits = row if end < 0 else row - 1  # the space after a word stays on its row
                    if column + word > fits and word <= fits:
                        shown.append((fragment[0], " " * (row - column)))
                        position += row - column
                        column = 0
                to_display.append(position)
                shown.append(fragment)
                position += 1
                column += get_cwidth(char)
                if row > 0 and column >= row:
                    column -= row
            to_display += [position, position + 1]  # the cursor may stand after the line's last character

            def display_to_source(position: int) -> int:
                return max((i for i, shown_at in enumerate(to_display) if shown_at <= position), default=0)

            return Transformation(shown, lambda i: to_display[min(i, len(to_display) - 1)], display_to_source)

    return WordWrap()


def _within_answer_limit() -> Any:
    """Refuses to submit an answer longer than the limit, and says so below it as soon as the text
    goes over: the text stays in the editor to be shortened, and a refused submit puts the cursor
    where the excess begins."""
    from prompt_toolkit.validation import ValidationError, Validator

    class WithinLimit(Validator):
        def validate(self, document: Any) -> None:
            if len(document.text) > MAX_ANSWER_CHARS:
                raise ValidationError(
                    cursor_position=MAX_ANSWER_CHARS,
                    message=f"{len(document.text):,} characters: shorten the answer to "
                    f"{MAX_ANSWER_CHARS:,} to submit it",  # one line of an 80-column terminal
                )

    return WithinLimit()


MOCK_KEYS = "Esc Enter or Ctrl-D: submit · Ctrl-N: skip · Ctrl-C: end the interview"
MOCK_KEYS_SHORT = "Ctrl-D submit · Ctrl-N skip · Ctrl-C end"  # for a narrow terminal
WARN_SECONDS, URGENT_SECONDS = 60, 15


def countdown_style(seconds_left: float) -> str:
    """The clock's colour: plain, yellow in the last minute, red in the last 15 seconds."""
    if seconds_left <= URGENT_SECONDS:
        return "class:clock.urgent"
    return "class:clock.warn" if seconds_left <= WARN_SECONDS else "class:clock"


def timed_answer(
    label: str,
    limit: float | None,
    *,
    input: Any = None,
    output: Any = None,
    clock: Callable[[], float] = time.monotonic,
) -> Reply:
    """A multi-line answer under a countdown that stays visible while typing.

    When time runs out, what was typed is submitted as timed out; when it runs out while the
    answer is open in $EDITOR (the clock runs on there, as in an interview), what the editor
    hands back is. Raises `AnswerCancelled` on Ctrl-C.
    """
    import asyncio

    from prompt_toolkit import PromptSession
    from prompt_toolkit.application import get_app
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.styles import Style

    started = clock()
    keys = KeyBindings()
    out_of_time = False

    def finish(app: Any, outcome: str) -> None:
        if app.is_running and not app.is_done:
            app.exit(result=Reply(app.current_buffer.text, outcome, clock() - started))

    @keys.add("c-d")
    @keys.add("escape", "enter")
    def _submit(event: Any) -> None:
        if event.current_buffer.validate(set_cursor=True):
            finish(event.app, "submitted")

    @keys.add("c-n")
    def _skip(event: Any) -> None:
        finish(event.app, "skipped")

    @keys.add("c-c")
    def _cancel(event: Any) -> None:
        event.app.exit(exception=AnswerCancelled(event.current_buffer.text))

    def editor_closed(app: Any) -> None:
        if out_of_time:
            finish(app, "timed_out")

    editor = _ExternalEditor(keys, on_closed=editor_closed)

    def time_up() -> None:
        nonlocal out_of_time
        out_of_time = True
        if not editor.open:  # else the text is taken when the editor hands it back
            finish(get_app(), "timed_out")

    def pre_run() -> None:
        _stop_on_signals()
        if limit is not None:
            asyncio.get_running_loop().call_later(max(0.0, limit - (clock() - started)), time_up)

    session: PromptSession[Any] = PromptSession(
        multiline=True,
        key_bindings=keys,
        bottom_toolbar=lambda: countdown_toolbar(
            label, limit, clock() - started, get_app().output.get_size().columns
        ),
        refresh_interval=0.5,
        prompt_continuation=lambda width, line, soft: "  ",
        input_processors=[_word_wrap()],
        validator=_within_answer_limit(),
        style=Style.from_dict(
            {
                "bottom-toolbar": "noreverse",
                "clock": "reverse bold",
                "clock.warn": "bg:ansiyellow fg:ansiblack bold",
                "clock.urgent": "bg:ansired fg:ansiwhite bold blink",
            }
        ),
        input=input,
        output=output,
    )
    result = session.prompt("› ", pre_run=pre_run)
    if isinstance(result, Reply):
        return result
    return Reply(str(result), "submitted", clock() - started)  # the default accept


def countdown_toolbar(label: str, limit: float | None, elapsed: float, columns: int) -> Any:
    """The clock, then the question's label and the keys, cut to fit the terminal's width: the keys
    shorten, then the label does, and the clock always shows."""
    from prompt_toolkit.formatted_text import FormattedText

    if limit is None:
        clock = ("class:clock", f" {countdown(elapsed)} ")
    else:
        clock = (countdown_style(limit - elapsed), f" {countdown(limit - elapsed)} left ")
    room = columns - len(clock[1]) - 1  # prompt_toolkit leaves the last column empty
    short_label = label.split(" · ")[0]
    for rest in (
        f" {label} · {MOCK_KEYS}",
        f" {label} · {MOCK_KEYS_SHORT}",
        f" {short_label} · {MOCK_KEYS_SHORT}",
        f" {short_label}",
    ):
        if len(rest) <= room:
            break
    return FormattedText([clock, ("", rest[: max(0, room)])])


class _StopSignal(BaseException):
    def __init__(self, number: int):
        self.number = number


def read_piped_answer(max_chars: int) -> str:
    """Standard input to its end, or to `max_chars` + 1 characters (more is too long to read on).

    Raises `AnswerCancelled` with what came on Ctrl-C, or on a stop signal (SIGTERM, SIGHUP) while
    it reads: an answer typed at a terminal without the editor (`--json`) is saved as the editor's is.
    """
    import signal
    import threading

    def stop(number: int, frame: Any) -> None:
        raise _StopSignal(number)

    pieces: list[str] = []
    previous = {}
    for name in STOP_SIGNALS if threading.current_thread() is threading.main_thread() else ():
        number = getattr(signal, name, None)  # SIGHUP is not on Windows
        if number is not None:
            previous[number] = signal.signal(number, stop)
    try:
        return read_text(sys.stdin.buffer, max_chars, into=pieces)
    except KeyboardInterrupt:
        raise AnswerCancelled("".join(pieces)) from None
    except _StopSignal as stopped:
        raise AnswerCancelled("".join(pieces), signal=stopped.number) from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not UTF-8 text (byte {exc.start})") from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def confirm(question: str, *, default: bool = False) -> bool:
    """A yes/no question in the terminal; Ctrl-D means no, and Ctrl-C raises `KeyboardInterrupt`
    (it stops the command, exit 130, as Ctrl-C does everywhere else)."""
    from prompt_toolkit import prompt

    hint = "[Y/n]" if default else "[y/N]"
    try:
        reply = (
            prompt(f"{question} {hint} ", pre_run=lambda: _stop_on_signals(interrupt=True)).strip().lower()
        )
    except EOFError:
        return False
    return default if not reply else reply in {"y", "yes"}


RATING_HELP = "a again (guessed) · h hard · g good · e easy · Enter keeps"  # fits 80 columns


def ask_rating() -> str | None:
    """The candidate's own rating of the answer just graded, for the schedule; None keeps the
    grade's (Enter or Ctrl-D). Ctrl-C raises `KeyboardInterrupt`, the grade's rating kept."""
    from prompt_toolkit import prompt

    from interviewer.schedule import parse_rating

    note(
        "For your schedule each key point counts by its verdict (✓ good, ◐ hard, ✗ again). "
        "If that is wrong about what you know, rate the whole answer."
    )
    while True:
        try:
            reply = prompt(
                f"Rating: {RATING_HELP}: ", pre_run=lambda: _stop_on_signals(interrupt=True)
            ).strip()
        except EOFError:
            return None
        if not reply:
            return None
        try:
            return parse_rating(reply)
        except UsageError as exc:
            note(str(exc))


# --- questions and grades ---------------------------------------------------------------------


def question_panel(question: Question, *, subtitle: str | None = None) -> Panel:
    title = f"[bold]{escape(visible(question.id))}[/] · {question.difficulty.value}"
    return Panel(
        plain(question.prompt, style="bold"),
        title=title,
        title_align="left",
        subtitle=subtitle,
        subtitle_align="left",
    )


def attempt_line(question_id: str, grade: Grade, number: int | None = None) -> Text:
    """A grade in one line: the question, its score and the gist of the feedback (or why it failed)."""
    label = f"{number}. {question_id}: " if number is not None else f"{question_id}: "
    line = Text.assemble(plain(label), score_text(grade.score, grade.status))
    if grade.failure:
        line.append(plain(f"  {grade.failure}", style="red"))
    elif grade.ok:
        line.append(plain(f"  {gist(grade)}", style="dim"))
    return line


GIST_CHARS = 60  # of a key point or an error quoted in a one-line gist


def gist(grade: Grade) -> str:
    """The feedback in a few words: the first major error, else how many key points were covered
    and the heaviest one missed."""
    major = [e for e in grade.errors if e.severity == "major"]
    if major:
        return f"Wrong: {_shortened(major[0].text)}"
    covered = sum(1 for kp in grade.key_points if kp.verdict is Verdict.covered)
    text = f"{covered} of {len(grade.key_points)} key points covered"
    missing = sorted(
        (kp for kp in grade.key_points if kp.verdict is Verdict.missing), key=lambda kp: -kp.weight
    )
    return f"{text}; missed: {_shortened(missing[0].point)}" if missing else text


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= GIST_CHARS else text[: GIST_CHARS - 1].rstrip() + "…"


def grader_label(grader: str) -> str:
    return "offline estimate" if grader == "offline" else grader


def score_text(score: float | None, status: str = "graded") -> Text:
    if status == "failed":
        return Text("failed", style="bold red")
    if status == "pending" or score is None:
        return Text("pending", style="yellow")
    return Text(f"{score:g}/10", style=f"bold {COLOURS[band(score)]}")


def change_view(since: Change) -> Text:
    """What changed since the previous attempt: the score, the points newly covered, those still missing."""
    delta = since.score_after - since.score_before
    text = Text.assemble(
        ("\nSince your last attempt: ", "bold"),
        f"{since.score_before:g} → ",
        score_text(since.score_after),
        f" ({delta:+.1f})",
    )
    for title, points, style in (
        ("Newly covered", since.newly_covered, "green"),
        ("Still missing", since.still_missing, "red"),
    ):
        if points:
            text.append(f"\n{title}: ", style=style)
            text.append(plain("; ".join(points)))
    return text


def reference_panel(question: Question) -> Panel:
    return Panel(
        plain(question.reference.strip()), title="Reference answer", title_align="left", border_style="blue"
    )


def grade_view(question: Question, grade: Grade, *, show_reference: bool = True) -> Group:
    parts: list[Any] = []
    if not grade.ok:
        parts.append(Text.assemble(("Not graded: ", "bold red"), plain(grade.failure or "unknown reason")))
        parts.append(Text("Your answer is saved; `interviewer grade latest` grades it again.", style="dim"))
        return Group(*parts)

    head = Text.assemble(
        ("\nScore ", "bold"), score_text(grade.score), "  ", plain(f"({grader_label(grade.grader)})", "dim")
    )
    if grade.cap_reason:
        head.append(plain(f"\nHeld to at most {grade.cap:g}: {grade.cap_reason}.", style="yellow"))
    for note in grade.notes:
        head.append(plain(f"\n{note}", style="yellow"))
    parts.append(head)

    points = Table.grid(padding=(0, 1))
    points.add_column(width=1)
    points.add_column(ratio=1)
    for kp in grade.key_points:
        mark, style = _MARK[kp.verdict]
        line = plain(kp.point, style="bold" if kp.verdict is Verdict.covered else "")
        if kp.why:
            line.append(plain(f"  ({kp.why})", style="dim"))
        if kp.recovered:
            line.append(Text("  recovered after the follow-up", style="yellow"))
        if kp.evidence:
            line.append(plain(f"\n“{kp.evidence}”", style="italic dim"))
        points.add_row(Text(mark, style=style), line)
    parts += [Text("\nKey points", style="bold underline"), points]

    if grade.errors:
        parts.append(Text("\nErrors", style="bold underline red"))
        for finding in grade.errors:
            line = Text.assemble(("• ", "red"), plain(finding.text), plain(f"  [{finding.severity}]", "dim"))
            if finding.why:
                line.append(plain(f"\n  {finding.why}"))
            if finding.evidence:
                line.append(plain(f"\n  “{finding.evidence}”", style="italic dim"))
            parts.append(line)
    covered = {kp.point for kp in grade.key_points if kp.verdict is Verdict.covered}
    strengths = [s for s in grade.strengths if s not in covered]  # the offline grader's repeat the checklist
    if strengths:
        parts.append(Text("\nStrengths", style="bold underline green"))
        parts += [plain(f"• {item}") for item in strengths]
    if grade.improvements:
        parts.append(Text("\nTo improve", style="bold underline"))
        parts += [plain(f"• {item}") for item in grade.improvements]
    if show_reference:
        parts.append(Text(""))
        parts.append(reference_panel(question))
        if question.note:
            parts.append(plain(f"Note: {question.note.strip()}", style="dim"))
    return Group(*parts)


# --- lists ------------------------------------------------------------------------------------


def question_detail(question: Question, source: str | None, *, author: bool = False) -> Group:
    """A question to study: the reference, its key points, the misconceptions it flags. With
    `author`, for bank authors, also the words the offline grader matches (a guide to gaming it, and
    noise to a candidate) and the follow-up questions (a candidate should meet them when asked)."""
    points = Table(header_style="bold", show_edge=False)
    points.add_column("weight", justify="right")
    points.add_column("key point")
    if author:
        points.add_column("offline grader matches", style="dim")
    for kp in question.key_points:
        points.add_row(
            f"{kp.weight:g}", plain(kp.point), *([plain("  +  ".join(kp.terms))] if author else [])
        )
    parts: list[Any] = [
        question_panel(question),
        Text.assemble(
            ("topic ", "dim"),
            plain(question.topic),
            ("  difficulty ", "dim"),
            question.difficulty.value,
            ("  hash ", "dim"),
            question.content_hash,
            *((("  file ", "dim"), plain(source)) if source else ()),
        ),
        reference_panel(question),
    ]
    if question.note:
        parts.append(plain(f"Note: {question.note.strip()}", style="yellow"))
    if question.derived:
        parts.append(plain(_derived_note(question.derived), style="yellow"))
    parts.append(points)
    if question.misconceptions:
        parts.append(Text("Misconceptions the grader flags", style="bold"))
        for m in question.misconceptions:
            line = plain(f"• {m.point} [{m.severity}]")
            if m.why:
                line.append(plain(f"\n  {m.why}", style="dim"))
            parts.append(line)
    if author and question.follow_ups:
        parts.append(Text("Follow-up questions", style="bold"))
        for f in question.follow_ups:
            numbers = " and ".join(map(str, f.probes))
            aim = (
                f"after a gap in key point{'s' if len(f.probes) > 1 else ''} {numbers}"
                if f.probes
                else "to go deeper"
            )
            parts.append(plain(f"• {f.prompt}").append(plain(f"\n  asked {aim}", style="dim")))
    return Group(*parts)


def _derived_note(derived: str) -> str:
    if derived == "offline":
        return (
            "Key points derived offline from the reference (no author wrote them): review or write your own."
        )
    return f"Key points proposed by {derived} at import: review them."


def local_time(stamp: str) -> str:
    """A stored UTC time as the candidate's clock shows it: "2026-12-02 16:05"."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:  # not a time we wrote: show it as it is
        return stamp


VERSION_MARKS = {"older": " (older version)", "removed": " (no longer in the bank)"}
LATER_FAILURE_MARK = " (regrade failed)"  # the score shown is the earlier grade's, which stands


def history_table(
    attempts: Sequence[Attempt], versions: dict[int, str] | None = None, width: int | None = None
) -> Table:
    """Attempts, newest first; `versions` marks those whose question has changed since or is gone.

    Session and question ids are what the candidate copies into `show`, `report` and `practice`: they
    never wrap or are cut. To fit `width` (the terminal's), the time wraps onto two lines, the grader
    is shortened, then the grader, mode and time columns are left out, in that order. Only when the
    ids and the score alone are wider than the terminal does a question id fold."""
    from rich import box

    width = width or console.width
    session = max((len(a.session_id) for a in attempts), default=8)
    question = max([len("question"), *(len(a.question_id) for a in attempts)])
    score = 7  # "pending", "skipped"
    graders = [grader_label(a.grader) if a.grader else "" for a in attempts]
    grader = max([len("grader"), *(len(g) for g in graders)])
    grader_wrapped = max([len("grader"), *(len(word) for g in graders for word in g.split())])
    stamps = [local_time(a.submitted_at) for a in attempts]
    when = max([len("when"), *(len(t) for t in stamps)])
    when_wrapped = max([len("when"), *(len(part) for t in stamps for part in t.split())])

    def room(columns: int, *used: int) -> int:
        """What is left of the width for more content, with `columns` columns in all."""
        return width - sum(used) - 3 * (columns - 1) - 2  # a space between cell paddings, and two edges

    # Each layout in turn, widest first: (time width or 0 to leave it out, mode shown, grader width or 0).
    essential = (session, question, score)
    layout = (0, False, 0)
    for when_width, grader_width in (
        (when, grader),
        (when, grader_wrapped),
        (when_wrapped, grader),
        (when_wrapped, grader_wrapped),
    ):
        if room(6, *essential, when_width, 8) >= grader_width:
            layout = (when_width, True, room(6, *essential, when_width, 8))
            break
    else:
        if room(6, *essential, when, 8) >= 12:  # the grader shortened: "llm:Qwen/Qwen…"
            layout = (when, True, room(6, *essential, when, 8))
        elif room(6, *essential, when_wrapped, 8) >= 5:  # "offl…"
            layout = (when_wrapped, True, room(6, *essential, when_wrapped, 8))
        elif room(5, *essential, when_wrapped) >= 8:
            layout = (when_wrapped, True, 0)
        elif room(4, *essential) >= when_wrapped:
            layout = (when_wrapped, False, 0)
    when_width, show_mode, grader_width = layout

    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    if when_width:
        table.add_column("when", width=when_width)
    table.add_column("session", no_wrap=True, min_width=session)
    if show_mode:
        table.add_column("mode", no_wrap=True)
    # The marks after an id wrap onto lines of their own; the id folds only when nothing else fits.
    table.add_column("question", overflow="fold", min_width=min(question, max(8, room(3, session, score))))
    table.add_column("score", justify="right", no_wrap=True, min_width=score)
    if grader_width:
        table.add_column("grader", overflow="ellipsis", max_width=grader_width)
    for a, stamp, label in zip(attempts, stamps, graders, strict=True):
        row = [plain(stamp)] if when_width else []
        row.append(plain(a.session_id))
        if show_mode:
            row.append(plain(a.mode))
        row.append(
            plain(
                a.question_id
                + (f" (+{len(a.follow_ups)} follow-up)" if a.follow_ups else "")
                + VERSION_MARKS.get((versions or {}).get(a.answer_id, ""), "")
                + (LATER_FAILURE_MARK if a.later_failure and not a.skipped else "")
            )
        )
        row.append(Text("skipped", style="dim") if a.skipped else score_text(a.score, a.grade_status))
        if grader_width:
            row.append(plain(label))
        table.add_row(*row)
    return table


# --- the mock interview -----------------------------------------------------------------------


def opening_panel(
    count: int, per_question: float | None, total: float | None, grader: str, follow_ups: int = 0
) -> Panel:
    if per_question and total:
        timing = f"up to {clock(per_question)} a question, {clock(total)} in all"
    elif total:
        timing = f"{clock(total)} in all"
    elif per_question:
        timing = f"up to {clock(per_question)} a question ({clock(per_question * count)} in all)"
    else:
        timing = "no time limit"
    body = Text.assemble(
        (counted(count, "question"), "bold"),
        f", {timing}. Graded by ",
        plain(grader_label(grader), "bold"),
        ".\n",
        "No feedback until the end: grading runs in the background while you answer.\n",
        _follow_ups_line(follow_ups),
        "\n",
        ("Esc then Enter", "bold"),
        " or ",
        ("Ctrl-D", "bold"),
        " submits · ",
        ("Ctrl-N", "bold"),
        " skips · ",
        ("Ctrl-C", "bold"),
        " ends the interview (what you answered is kept and graded).\n",
        "The clock turns yellow at one minute and red at 15 seconds; at zero, what you typed is submitted.",
    )
    return Panel(body, title="Mock interview", title_align="left", border_style="cyan")


def _follow_ups_line(most: int) -> str:
    if not most:
        return ""
    asked = "a follow-up" if most == 1 else f"up to {most} follow-ups"
    return f"After an answer the interviewer may ask {asked} on the same question, graded with it.\n"


def mock_question(number: int, count: int, question: Question) -> Panel:
    title = f"[bold]Question {number}/{count}[/] · {escape(visible(question.topic))} · {question.difficulty.value}"
    return Panel(plain(question.prompt, style="bold"), title=title, title_align="left")


def follow_up_panel(prompt: str, title: str) -> Panel:
    """The interviewer's follow-up: the same question, one more turn."""
    return Panel(plain(prompt, style="bold"), title=plain(title), title_align="left", border_style="magenta")


def summary_view(summary: Summary) -> Group:
    from rich import box

    table = Table(header_style="bold", title=None, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    # The question's id names its topic; it may fold, never the time or the score: in 80 columns a
    # topic column squeezed them to "0:0…".
    table.add_column("question", overflow="fold", ratio=1)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("status", overflow="fold")
    for r in summary.questions:
        time_used = f"{clock(r.seconds)}/{clock(r.limit)}" if r.limit else clock(r.seconds)
        status = {"graded": "", "skipped": "skipped"}.get(r.status, r.status)
        if r.timed_out:
            status = (status + ", " if status else "") + "timed out"
        if r.follow_ups:
            status = (
                status + ", " if status else ""
            ) + f"+{r.follow_ups} follow-up{'s' if r.follow_ups > 1 else ''}"
        score = (
            score_text(r.score, r.status)
            if r.status not in {"skipped", "not reached"}
            else Text("0" if r.status == "skipped" else "–")
        )
        table.add_row(
            str(r.number),
            plain(r.question_id),
            time_used,
            score,
            plain(status, style="red" if r.status == "failed" else "dim"),
        )
    parts: list[Any] = [table]
    pending = sum(r.status == "pending" for r in summary.unfinished)
    failed = len(summary.unfinished) - pending
    total = Text.assemble(("Total ", "bold"), _total_text(summary.total, pending))
    total.append(plain(f"   ({grader_label(summary.grader)})", style="dim"))
    if pending:
        total.append(f"\n{pending} answer(s) not graded yet: they are not in the total.", style="yellow")
    if failed:
        total.append(f"\n{failed} answer(s) could not be graded: they are not in the total.", style="red")
    parts.append(total)
    # Below the table, not in it: a reason or a follow-up is a sentence, and a column wraps it into
    # a row a word.
    parts += [plain(f"  {r.number}. {r.failure}", style="red") for r in summary.questions if r.failure]
    parts += [
        plain(f"  {r.number}. Follow-up: {prompt} ({outcome})", style="dim")
        for r in summary.questions
        for prompt, outcome in r.follow_up_turns
    ]
    if summary.topics:
        parts.append(
            Text("Per topic: ", style="bold")
            + plain(" · ".join(f"{t} {s:g}" for t, s in sorted(summary.topics.items(), key=lambda i: -i[1])))
        )
    for title, items, style in (
        ("Strongest points", summary.strongest, "green"),
        ("Biggest gaps", summary.gaps, "red"),
        ("Practise next", summary.next_steps, "cyan"),
    ):
        if items:
            parts.append(Text(f"\n{title}", style=f"bold underline {style}"))
            parts += [plain(f"• {item}") for item in items]
    parts.append(plain(f"\nSession {summary.session_id} ({summary.status}).", style="bold"))
    if any(r.answer_id is not None for r in summary.questions):
        parts.append(show_hint(summary.session_id))
    return Group(*parts)


def show_hint(session_id: str) -> Text:
    return plain(f"Feedback on each answer (checklist, errors, reference): interviewer show {session_id} [N]")


def answer_feedback(
    session_id: str,
    result: QuestionResult,
    count: int,
    question: Question | None,
    text: str | None,
    grade: Grade | None,
    follow_ups: Sequence[FollowUpTurn] = (),
    later_failure: LaterFailure | None = None,
) -> Group:
    """One question of a past session as `interviewer show` prints it: the prompt, the answer (and
    each follow-up with its answer) and the feedback a practice run shows, or why there is none;
    and a regrade that failed after the grade shown."""
    title = f"Question {result.number}/{count} · {result.question_id}"
    parts: list[Any] = [Panel(plain(result.prompt, style="bold"), title=plain(title), title_align="left")]
    if text is not None and result.status != "skipped":
        parts += [Text("Your answer", style="bold underline"), plain(text)]
    for turn in follow_ups:
        parts.append(Text.assemble(("\nFollow-up: ", "bold magenta"), plain(turn.prompt, style="bold")))
        parts.append(
            plain(turn.text)
            if turn.text
            else Text("(skipped)" if turn.answered else "(not answered)", style="dim")
        )
    if question is not None and grade is not None:
        parts.append(grade_view(question, grade))
        if later_failure is not None:
            parts.append(plain(later_failure_note(later_failure, session_id), style="yellow"))
    else:
        parts.append(plain(_NO_FEEDBACK[result.status].format(session=session_id), style="yellow"))
        if question is not None:
            parts.append(reference_panel(question))
    parts.append(Text(""))  # a blank line before the next question
    return Group(*parts)


def later_failure_note(failed: LaterFailure, session_id: str | None = None) -> str:
    """A regrade that failed after a good grade, in a sentence: the good grade stands."""
    when = failed.created_at[:16].replace("T", " ")
    retry = f" `interviewer grade {session_id} --all` grades again." if session_id else ""
    reason = (failed.failure or "no reason given").rstrip()
    stop = "" if reason.endswith((".", "?", "!")) else "."
    return (
        f"A later grading ({failed.grader}, {when} UTC) failed: {reason}{stop} The grade above stands.{retry}"
    )


_NO_FEEDBACK = {
    "skipped": "Skipped (counts as 0).",
    "pending": "Not graded yet: `interviewer grade {session}` grades it.",
    "not reached": "Not reached.",
}


def _total_text(total: float | None, pending: int) -> Text:
    """The total score; without one, "pending" only while grades may still come."""
    if total is not None:
        return score_text(total)
    return Text("pending", style="yellow") if pending else Text("none", style="red")


def resuming(
    session_id: str,
    answered: int,
    count: int,
    left: float | None,
    per_question: float | None,
    *,
    in_follow_up: bool = False,
) -> str:
    """Where a resumed interview picks up, e.g. "2 of 5 answered, 7:30 left"; in a follow-up, "2 of
    5 answered, the follow-up to question 2 first"."""
    where = f"Resuming session {session_id}: {answered} of {count} answered"
    if in_follow_up:
        where += f", the follow-up to question {answered} first"
    if left is not None:
        return f"{where}, {countdown(left)} left."
    return f"{where}, up to {countdown(per_question)} a question." if per_question else f"{where}."


def progress_view(p: Progress) -> Group:
    parts: list[Any] = [
        Text.assemble(
            (counted(p.answers, "answer"), "bold"),
            " in ",
            (counted(p.sessions, "session"), "bold"),
            ", ",
            (f"{p.graded} graded", "bold"),
            (
                f", {p.unfinished} pending or failed (`interviewer grade SESSION`)" if p.unfinished else "",
                "yellow",
            ),
        )
    ]
    if p.topics:
        table = Table(
            header_style="bold", title="By topic (each question's latest score)", title_justify="left"
        )
        table.add_column("topic")
        table.add_column("questions", justify="right")
        table.add_column("average", justify="right")
        for t in p.topics:
            table.add_row(plain(t.topic), str(t.questions), score_text(t.mean))
        parts.append(table)
    if p.weakest:
        parts.append(Text("Weakest questions (interviewer practice ID)", style="bold underline red"))
        parts += [Text.assemble("• ", plain(qid), "  ", score_text(score)) for qid, score in p.weakest]
    if p.improved:
        parts.append(Text("\nMost improved", style="bold underline green"))
        parts += [plain(f"• {qid}: {before:g} → {after:g}") for qid, before, after in p.improved]
    return Group(*parts)


# --- calibration --------------------------------------------------------------------------------


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on standard error while work runs, only in a terminal; yields its update."""
    if not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(escape(label)),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


CALIBRATION_LIST = 10  # answers named per finding before "and N more"
FAILURE_CHARS = 160  # of a failure's reason in the view; --json has it whole
_VERDICT_WORDS = {  # each set's verdict in a table cell; the overall one is spelled out below the table
    "second-interviewer": "2nd rater",
    "ranks-well": "ranks well",
    "rough": "rough guide",
    "unreliable": "unreliable",
    "too-few": "too few",
}


def _figure(value: float | None, form: str = ".2f") -> str:
    return "–" if value is None else format(value, form)


def _ids(ids: Sequence[str], rows: dict[str, Any], *, show: Callable[[Any], str]) -> list[Text]:
    lines = [plain(f"  {i}  {show(rows[i])}", style="dim") for i in ids[:CALIBRATION_LIST]]
    if len(ids) > CALIBRATION_LIST:
        lines.append(Text(f"  … and {len(ids) - CALIBRATION_LIST} more (--json lists them all)", style="dim"))
    return lines


def calibration_view(result: Calibration) -> Group:
    """The figures of `interviewer calibrate`: per set and in all, the findings, and the verdict."""
    from interviewer.calibrate import ADVERSARIAL_MAX

    o = result.overall
    head = Text.assemble(
        ("Calibration of ", "bold"),
        plain(grader_label(result.grader), "bold"),
        f" against {o.answers} labelled answer{'s' if o.answers != 1 else ''}",
        f" in {counted(len(result.sets), 'set')}",
        f", {result.repeat} runs" if result.repeat > 1 else "",
    )
    if result.interrupted:
        head.append(
            f"\nInterrupted after {result.done} of {result.gradings} gradings: the figures are for what was graded.",
            style="bold yellow",
        )
    shown = list(result.sets) + ([("all", o)] if len(result.sets) > 1 else [])
    table = Table(header_style="bold", box=None, padding=(0, 1), pad_edge=False)
    label = len("answers graded (n)")
    table.add_column("", no_wrap=True, min_width=label)
    stems = [Path(name).stem for name, _ in shown]  # "answers" for answers.toml: the table fits 80 columns
    # A set's name longer than its share of the width is cut short, not the labels or the "all" column.
    share = max(len("unreliable"), (console.width - label) // len(shown) - 1)
    for title in stems if len(set(stems)) == len(stems) else [name for name, _ in shown]:
        table.add_column(plain(title), justify="right", no_wrap=True, max_width=share, overflow="ellipsis")

    def line(label: str, cell: Callable[[Figures], str | Text]) -> None:
        table.add_row(label, *(cell(f) for _, f in shown))

    def flagged(count: int, of: int) -> Text:
        return Text(f"{count}/{of}", style="red" if count else "") if of else Text("–")

    line("answers graded (n)", lambda f: str(f.graded))
    line("Pearson", lambda f: _figure(f.pearson))
    line("Spearman", lambda f: _figure(f.spearman))
    line("kappa (quadratic)", lambda f: _figure(f.kappa))
    line("mean error, points", lambda f: _figure(f.mae))
    line("within ±1 point", lambda f: _figure(f.within_one, ".0%"))
    line(f"adversarial over {ADVERSARIAL_MAX:g}", lambda f: flagged(len(f.adversarial_over), f.adversarial))
    line("adversarial max", lambda f: _figure(f.adversarial_max, "g"))
    line("false errors", lambda f: flagged(len(f.false_errors), f.correct))
    line("failed", lambda f: Text(str(f.failed), style="red" if f.failed else ""))
    line("verdict", lambda f: Text(_VERDICT_WORDS.get(f.verdict.level, f.verdict.level), style="bold"))
    parts: list[Any] = [head, table]
    rows = {r.answer.id: r for r in result.rows}
    if o.adversarial_over:
        parts.append(
            Text(f"\nAnswers built to game a grader, scored over {ADVERSARIAL_MAX:g}", style="bold red")
        )
        parts += _ids(
            o.adversarial_over,
            rows,
            show=lambda r: f"{r.answer.question.id} ({r.answer.kind}): {r.score:g}",
        )
    if o.false_errors:
        parts.append(Text("\nCorrect answers given an error", style="bold red"))
        parts += _ids(
            o.false_errors,
            rows,
            show=lambda r: f"{r.answer.question.id} ({r.answer.kind}): {r.grade.errors[0].text}",
        )
    facts: list[Text] = []
    a = result.agreement
    if a is not None:
        if a.answers:
            facts.append(
                Text(
                    f"Run to run ({a.runs} runs, {a.answers} answers): {_figure(a.identical, '.0%')} scored the "
                    f"same every time; scores differ by {_figure(a.mean_difference)} points on average, "
                    f"{_figure(a.largest, 'g')} at most."
                )
            )
        else:
            facts.append(Text(f"Run to run ({a.runs} runs): no answer was graded in every run."))
    if result.failed:
        facts.append(
            Text(f"Failed: {result.failed} of {result.done} gradings (not counted as scores).", style="red")
        )
        for reason, count in result.failures[:3]:
            brief = reason if len(reason) <= FAILURE_CHARS else reason[: FAILURE_CHARS - 1] + "…"
            facts.append(plain(f"  {count} × {brief}", style="dim"))
    if result.usage is not None:
        u = result.usage
        facts.append(
            Text(
                f"Tokens: {u.prompt_tokens:,} prompt ({u.cached_tokens:,} cached), "
                f"{u.completion_tokens:,} completion."
            )
        )
    per = f", {result.latency_ms:,.0f} ms per grading (median)" if result.latency_ms is not None else ""
    facts.append(Text(f"Wall time: {result.seconds:.1f} s for {result.done} gradings{per}."))
    parts.append(Text(""))
    parts += facts
    verdict = Text.assemble(("\nVerdict: ", "bold"), plain(result.verdict.text, "bold"), ".")
    for caveat in result.verdict.caveats:
        verdict.append(plain(f"\n  • {caveat[0].upper()}{caveat[1:]}.", style="yellow"))
    parts.append(verdict)
    return Group(*parts)
