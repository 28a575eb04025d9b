"""The `interviewer` command: parse options, call the core, render the result.

Imports of anything heavy (pydantic models, rich, prompt_toolkit, the graders) happen inside the
commands, so `interviewer --help` stays fast. No `from __future__ import annotations`: typer reads
every command's signature at start-up, and evaluating them as strings cost ~10 ms of it.
"""

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from interviewer import __version__
from interviewer.defaults import DEFAULT_FOLLOW_UPS, DEFAULT_PER_QUESTION, DEFAULT_QUESTIONS, MAX_PER_DAY
from interviewer.errors import ExitStatus, Interrupted, InterviewerError, Stopped, UsageError
from interviewer.inputs import MAX_ANSWER_CHARS, read_text_file
from interviewer.terminal import counted, json_text, visible
from interviewer.typer_help import Command, Group

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from interviewer.bank import Bank, Difficulty
    from interviewer.calibrate import LabelledSet
    from interviewer.grading import Grader


class _OneLineErrors(Group):
    """Usage errors (an unknown option, a value out of range) as one line and exit 2, like every
    other error of the command, instead of typer's boxed panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        run = functools.partial(
            super().main, args, prog_name, complete_var, False, windows_expand_args, **extra
        )
        if not standalone_mode:
            return run()
        try:
            status = run()
        except typer.TyperException as exc:  # click's ClickException and UsageError
            context = getattr(exc, "ctx", None)
            hint = f" (see `{context.command_path} --help`)" if context is not None else ""
            print(f"error: {visible(exc.format_message())}{hint}", file=sys.stderr)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("Stopped.", file=sys.stderr)
            sys.exit(ExitStatus.INTERRUPTED)
        sys.exit(status if isinstance(status, int) else 0)


app = typer.Typer(
    name="interviewer",
    help="Practise ML/DL engineering interviews: questions from a bank, answers graded by an LLM or offline.",
    no_args_is_help=True,
    cls=_OneLineErrors,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a docstring's paragraph rewraps as one (in "rich" mode its line breaks stay)
)
bank_app = typer.Typer(
    cls=_OneLineErrors, help="List, show, validate and import question banks.", no_args_is_help=True
)
app.add_typer(bank_app, name="bank")


def _fail(message: str, status: int) -> typer.Exit:
    for line in message.splitlines() or [message]:
        print(f"error: {visible(line)}", file=sys.stderr)
    return typer.Exit(status)


def _command(
    group: typer.Typer, name: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command whose project errors become one-line messages and exit codes."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except InterviewerError as exc:
                raise _fail(str(exc), exc.exit_status) from None
            except Interrupted as stopped:  # a stop signal at a question, handled as Ctrl-C there
                from signal import Signals

                print(f"\nStopped by {Signals(stopped.signal).name}.", file=sys.stderr)
                raise typer.Exit(128 + stopped.signal) from None
            except KeyboardInterrupt:
                print("\nStopped.", file=sys.stderr)
                raise typer.Exit(ExitStatus.INTERRUPTED) from None

        return group.command(name, cls=Command)(run)

    return decorate


def _version(value: bool) -> None:
    if value:
        print(f"interviewer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Practise ML/DL engineering interviews: questions from a bank, answers graded by an LLM or offline."""


# The largest values of the numeric options: beyond them a value is a slip (or `inf`, `1e309`), not a
# plan, and it would fail later, after the session was stored, in the clock or in SQLite.
MAX_SECONDS_PER_QUESTION = 24 * 3600
MAX_MINUTES = 24 * 60
MAX_SEED = 2**32 - 1
MAX_FOLLOW_UPS = 3
MAX_HISTORY = 1_000_000


def _complete_ids(incomplete: str) -> list[str]:
    """Question ids for shell completion (from the bank's cached listing: a TAB must be quick)."""
    return [q.id for q in _listing_or_none() if q.id.startswith(incomplete)]


def _complete_topics(incomplete: str) -> list[str]:
    topics = dict.fromkeys(q.topic for q in _listing_or_none())
    return [t for t in topics if t.startswith(incomplete)]


def _listing_or_none() -> list[Any]:
    try:
        return _listing(None)
    except InterviewerError:  # a broken bank completes nothing; the command itself will say why
        return []


BankOption = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--bank",
        metavar="PATH",
        help="Another bank file or folder to use besides the built-in one (repeatable; also INTERVIEWER_BANK).",
        show_default=False,
    ),
]
TopicOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--topic",
        "-t",
        metavar="TOPIC",
        autocompletion=_complete_topics,
        help="Only questions of this topic (repeatable).",
        show_default=False,
    ),
]
DifficultyOption = Annotated[
    Optional[str],
    typer.Option(
        "--difficulty",
        metavar="LEVEL",
        help="Only questions of this difficulty: easy, medium or hard.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of the formatted view.")
]
GraderOption = Annotated[
    Optional[str],
    typer.Option(
        "--grader",
        metavar="GRADER",
        help="auto (the default: the LLM when an endpoint is configured, else offline), llm or offline.",
        show_default=False,
    ),
]
ModelOption = Annotated[
    Optional[str],
    typer.Option(
        "--model", metavar="MODEL", help="The LLM to grade with (also INTERVIEWER_MODEL).", show_default=False
    ),
]
BaseUrlOption = Annotated[
    Optional[str],
    typer.Option(
        "--base-url",
        metavar="URL",
        help="An OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama (also OPENAI_BASE_URL).",
        show_default=False,
    ),
]


def _load_bank(extra: list[Path] | None) -> "Bank":
    from interviewer import bank, config

    return bank.load([*bank.paths_from_env(), *(extra or [])], cache_dir=config.cache_dir() / "bank")


def _print_json(data: dict[str, Any]) -> None:
    """A command's --json output: one object, `schema_version` first (documented in the README)."""
    from interviewer.formats import SCHEMA_VERSION

    print(json_text({"schema_version": SCHEMA_VERSION, **data}))


def _open_store(*, read_only: bool = False) -> Any:
    """The database; `read_only` for commands that only read, so they work in a read-only home."""
    from interviewer import config
    from interviewer.store import DEFAULT_TIMEOUT, Store

    return Store.open(config.home(), timeout=config.db_timeout() or DEFAULT_TIMEOUT, read_only=read_only)


def _grader(grader: str | None, model: str | None, base_url: str | None) -> tuple[Any, str]:
    """The grader from flags, environment and config file, and a line saying which it is and why."""
    from interviewer import config
    from interviewer.grading import make_grader

    settings = config.load(grader=grader, model=model, base_url=base_url)
    return make_grader(settings, config.cache_dir()), f"Grading: {settings.why_grader()}"


def _offline_hint(session_id: str, failures: list[str | None]) -> None:
    """When the LLM endpoint could not be reached: how to grade now, and how to regrade later."""
    from interviewer.grading.model import endpoint_unreachable

    reason = next((f for f in failures if endpoint_unreachable(f)), None)
    if reason:
        hint = (
            f"{reason} `interviewer grade {session_id} --grader offline` grades now; "
            f"`interviewer grade {session_id} --all` regrades with the LLM later."
        )
        print(f"error: {visible(hint)}", file=sys.stderr)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


# --- practice ---------------------------------------------------------------------------------


def _check_answer(text: str, label: str = "the answer") -> None:
    if not text.strip():
        raise UsageError(f"{label} is empty: nothing to grade")
    _check_length(text, label)


def _check_length(text: str, label: str) -> None:
    if len(text) > MAX_ANSWER_CHARS:
        raise UsageError(
            f"{label} has more than {MAX_ANSWER_CHARS:,} characters, the most an answer may have"
        )


def _difficulty(value: str | None) -> "Difficulty | None":
    from interviewer.bank import Difficulty

    try:
        return None if value is None else Difficulty(value.lower())
    except ValueError:
        raise UsageError(f"unknown difficulty {value!r}: use easy, medium or hard") from None


@_command(app)
def practice(
    question_id: Annotated[
        Optional[str],
        typer.Argument(
            metavar="ID",
            autocompletion=_complete_ids,
            help="The question's id (see `interviewer bank list`); random when left out.",
            show_default=False,
        ),
    ] = None,
    topic: TopicOption = None,
    difficulty: DifficultyOption = None,
    answer_file: Annotated[
        Optional[Path],
        typer.Option(
            "--answer-file",
            metavar="FILE",
            help="Read the answer from this file instead of asking.",
            show_default=False,
        ),
    ] = None,
    follow_up: Annotated[
        bool,
        typer.Option(
            "--follow-up",
            help="Ask a follow-up after the first answer, graded with it (given answers: the block after ---).",
        ),
    ] = False,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="Practise the question your schedule says is most overdue (when none is due, the one due soonest).",
        ),
    ] = False,
    rate: Annotated[
        Optional[str],
        typer.Option(
            "--rate",
            metavar="RATING",
            help="Your own rating of the answer for the schedule, where the grade is wrong about what you "
            "know: again (you guessed), hard, good or easy.",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
    bank: BankOption = None,
    grader: GraderOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Practise one question: answer it, get graded feedback and the reference answer, try again.

    In a terminal the answer is typed in an editor (Esc then Enter, or Ctrl-D, submits); otherwise it
    is read from standard input or --answer-file. With --follow-up the interviewer asks one follow-up
    after the first answer; given answers then hold the follow-up's answer after a line of ---.

    Your first answer is a review of the question's key points for your schedule (`interviewer plan`);
    in a terminal you may rate it yourself after the feedback, elsewhere with --rate.
    """
    from interviewer import ui
    from interviewer.followups import make_source
    from interviewer.interview import practise
    from interviewer.session import Practice

    if question_id and (topic or difficulty):
        raise UsageError("give a question id or --topic/--difficulty, not both")
    if question_id and due:
        raise UsageError("give a question id or --due, not both")
    own_rating = _rating_option(rate)
    questions = _load_bank(bank)
    chosen, grading_note = _grader(
        grader, model, base_url
    )  # a bad setting is refused before anything is stored
    store = _open_store()
    picked = None
    if due:
        question, picked = _due_question(store, questions, topic, difficulty)
    else:
        question = (
            questions.get(question_id)
            if question_id
            else questions.pick(topic or (), _difficulty(difficulty))
        )
    run = Practice(store, chosen, {"question": question.id, "due": due})
    source = make_source(chosen, ui.note) if follow_up else None
    if answer_file is None and _interactive() and not json_output:
        from interviewer.candidate import TerminalPractice

        ui.note(grading_note)
        attempts = practise(run, question, TerminalPractice(own_rating), source)
        _offline_hint(attempts[-1].session_id, [a.grade.failure for a in attempts])
        ui.note(f"Session {run.session_id} saved. `interviewer history` lists your attempts.")
        if any(not a.grade.ok for a in attempts):  # as when the answer is given: a grade not obtained
            raise typer.Exit(ExitStatus.ERROR)
        return

    given = _given_answer(question, answer_file, grading_note, follow_up, own_rating)
    [result] = practise(run, question, given, source)
    if json_output:
        turns = run.store.attempt(result.answer_id).follow_ups
        _print_json(
            {
                "session_id": result.session_id,
                "answer_id": result.answer_id,
                "question_id": question.id,
                "question_hash": question.content_hash,
                "follow_ups": [{"prompt": t.prompt, "answer": t.text} for t in turns],
                **({"picked": picked} if picked else {}),
                "rating": own_rating,
                **result.grade.model_dump(mode="json"),
            }
        )
    else:
        ui.console.print(ui.question_panel(question))
        ui.console.print(ui.grade_view(question, result.grade))
        _offline_hint(result.session_id, [result.grade.failure])
    if not result.grade.ok:
        raise typer.Exit(ExitStatus.ERROR)


def _rating_option(rate: str | None) -> str | None:
    """--rate, checked before anything is asked or read."""
    from interviewer.schedule import parse_rating

    if rate is None:
        return None
    rating = parse_rating(rate)
    if rating is None:
        raise UsageError(
            "--rate auto is the grade's own rating, which an answer has anyway: leave --rate out"
        )
    return rating


def _retention(store: Any) -> float:
    from interviewer.schedule import DEFAULT_RETENTION, RETENTION_KEY

    stored = store.preference(RETENTION_KEY)
    try:
        return float(stored) if stored else DEFAULT_RETENTION
    except ValueError:
        return DEFAULT_RETENTION


def _schedule(store: Any, questions: Sequence[Any]) -> Any:
    """The schedule of `questions` as the stored answers left it."""
    from interviewer import config
    from interviewer.schedule import Schedule

    return Schedule.load(store, questions, retention=_retention(store), cache_dir=config.cache_dir())


def _due_question(
    store: Any, questions: "Bank", topic: list[str] | None, difficulty: str | None
) -> tuple[Any, dict[str, Any] | None]:
    """The question `practice --due` asks, said why on standard error; and why, for --json."""
    from interviewer import planview, ui

    pool = questions.select(topic or (), _difficulty(difficulty))
    schedule = _schedule(store, pool)
    pick = schedule.practice(pool)
    if pick is None:
        question = questions.pick(topic or (), _difficulty(difficulty))
        ui.note(
            f"Nothing {'of that ' if topic or difficulty else ''}answered yet: {question.id}, a question you have not seen."
        )
        return question, {"why": "unseen", "due": None}
    ui.note(planview.pick_note(pick, schedule.now))
    due = pick.state.due
    return pick.question, {"why": pick.why, "due": due.isoformat() if due else None}


def _given_answer(
    question: Any, answer_file: Path | None, grading_note: str, follow_up: bool, rating: str | None = None
) -> Any:
    """The practice answer from --answer-file or standard input, refused when it cannot be graded;
    once it is read, the line saying which grader grades it."""
    from interviewer import ui
    from interviewer.interview import GivenAnswer

    def read() -> str:
        if answer_file is not None:
            text = read_text_file(answer_file, MAX_ANSWER_CHARS)
        else:
            if sys.stdin.isatty():
                ui.note(f"{question.id}: {question.prompt}\nType your answer; end it with Ctrl-D.")
            text = ui.read_piped_answer(MAX_ANSWER_CHARS)
        if follow_up:  # the first block is the answer; an empty one is no answer, whatever follows it
            from interviewer.session import ANSWER_SEPARATOR, split_answers

            blocks = split_answers(text)
            _check_answer((blocks or [""])[0])
            if len(blocks) > 2:
                raise UsageError(
                    f"{len(blocks)} answers given: with --follow-up, give the answer, a line of "
                    f"{ANSWER_SEPARATOR}, then the follow-up's answer"
                )
        _check_answer(text)
        ui.note(grading_note)
        return text

    return GivenAnswer(read, ui.note, follow_up=follow_up, rating=rating)


# --- the mock interview -------------------------------------------------------------------------


@_command(app)
def mock(
    questions: Annotated[
        int, typer.Option("--questions", "-n", metavar="N", min=1, help="How many questions.")
    ] = DEFAULT_QUESTIONS,
    topic: TopicOption = None,
    difficulty: DifficultyOption = None,
    per_question: Annotated[
        Optional[float],
        typer.Option(
            "--per-question",
            metavar="SECONDS",
            min=1,
            max=MAX_SECONDS_PER_QUESTION,
            help=f"Seconds per question (default {DEFAULT_PER_QUESTION:g}; none when only --minutes is given).",
            show_default=False,
        ),
    ] = None,
    minutes: Annotated[
        Optional[float],
        typer.Option(
            "--minutes",
            metavar="MINUTES",
            min=0.1,
            max=MAX_MINUTES,
            help="Minutes for the whole interview.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        Optional[int],
        typer.Option(
            "--seed",
            metavar="N",
            min=0,
            max=MAX_SEED,
            help="Draw the same questions again.",
            show_default=False,
        ),
    ] = None,
    answers: Annotated[
        Optional[Path],
        typer.Option(
            "--answers",
            metavar="FILE",
            help="Read the answers from this file, separated by lines of ---.",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        Optional[str],
        typer.Option(
            "--resume",
            metavar="SESSION",
            help="Continue an interrupted interview (a session id or latest).",
            show_default=False,
        ),
    ] = None,
    follow_ups: Annotated[
        Optional[int],
        typer.Option(
            "--follow-ups",
            metavar="N",
            min=0,
            max=MAX_FOLLOW_UPS,
            help=f"Follow-ups asked at most per question (default {DEFAULT_FOLLOW_UPS} in a terminal; "
            "none with scripted answers unless given).",
            show_default=False,
        ),
    ] = None,
    no_follow_ups: Annotated[
        bool, typer.Option("--no-follow-ups", help="Ask no follow-up questions.")
    ] = False,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="Ask what your schedule says: due questions first, then the weakest, then unseen ones, "
            "spread over the topics.",
        ),
    ] = False,
    json_output: JsonOption = False,
    bank: BankOption = None,
    grader: GraderOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Run a timed mock interview: questions under a clock, no feedback until a scored summary at the end.

    After a weak answer the interviewer asks a follow-up (the deeper one after a complete answer), and
    the question is graded over both turns. In a terminal each answer is typed in an editor with a
    countdown. Without one, the answers come from standard input or --answers, separated by lines
    holding only ---; there a follow-up's answer is the next block, and follow-ups are asked only
    when --follow-ups is given.
    """
    from interviewer import ui
    from interviewer.interview import Script, mock_interview
    from interviewer.session import MockInterview

    if resume is not None and not resume.strip():
        raise UsageError("--resume needs a session id, or latest")
    from interviewer.followups import make_source

    if no_follow_ups and follow_ups:
        raise UsageError("--no-follow-ups and --follow-ups contradict each other; give one")
    if due and resume:
        raise UsageError("--resume asks the questions the interview had; leave out --due")
    if due and seed is not None:
        raise UsageError("--due picks the questions from your schedule, --seed at random; give one")
    chosen, grading_note = _grader(grader, model, base_url)
    store = _open_store()
    interactive = answers is None and _interactive() and not json_output
    most_follow_ups = _follow_ups_asked(follow_ups, no_follow_ups, interactive)
    source = make_source(chosen, ui.note)
    if resume:
        # A resumed interview asks as many follow-ups as it did, unless told otherwise.
        told = 0 if no_follow_ups else follow_ups
        resumed = MockInterview.resume(store, chosen, resume, source, told)
        count, limit, total = len(resumed.questions), resumed.per_question, resumed.total
        planned = count - resumed.answered
    else:
        if due:
            picked = _due_interview(store, _load_bank(bank), questions, topic, difficulty, quiet=json_output)
        else:
            picked = _load_bank(bank).interview(questions, topic or (), _difficulty(difficulty), seed)
        count = planned = len(picked)
        limit = per_question if per_question is not None else (None if minutes else DEFAULT_PER_QUESTION)
        total = minutes * 60 if minutes else None
    each = resumed.most_follow_ups if resume else most_follow_ups
    blocks = planned * (1 + each) + (1 if resume and resumed.follow_up_pending else 0)
    scripted = None if interactive else _read_script(answers, blocks, each)

    began = []  # whether the interview began: Ctrl-C at "Ready?" stores nothing

    def begin() -> MockInterview:
        began.append(True)
        if resume:
            return resumed
        options = {"topics": topic or [], "difficulty": difficulty, "seed": seed, "due": due}
        return MockInterview.start(
            store,
            chosen,
            picked,
            per_question=limit,
            total=total,
            options=options,
            script=scripted or (),
            follow_ups=source,
            most_follow_ups=most_follow_ups,
        )

    if not json_output:
        ui.note(grading_note)
        asked = resumed.most_follow_ups if resume else most_follow_ups
        ui.console.print(ui.opening_panel(count, limit, total, chosen.name, asked))
        if resume and interactive:
            ui.note(
                ui.resuming(
                    resumed.session_id,
                    resumed.answered,
                    count,
                    resumed.time_left(),
                    limit,
                    in_follow_up=resumed.follow_up_pending,
                )
            )
    if scripted is None:
        from interviewer.candidate import TerminalMock

        try:
            ended = mock_interview(chosen, begin, TerminalMock())
        except KeyboardInterrupt:
            if not began:
                ui.note(_not_started(resumed.session_id if resume else None))
            raise
    else:
        if isinstance(scripted, Answers):  # cut short by Ctrl-C or a signal as it was typed
            script = Script(scripted, ui.note, cut_short=True, signal=scripted.signal)
        else:
            script = Script(scripted, ui.note)
        ended = mock_interview(chosen, begin, script)
    if ended is None:
        ui.note(_not_started(resumed.session_id if resume else None))
        return
    from interviewer.summary import summarize

    summary = summarize(store, store.session(ended.run.session_id))
    if json_output:
        _print_json(summary.to_json())
    else:
        ui.console.print(ui.summary_view(summary))
        _offline_hint(summary.session_id, [q.failure for q in summary.questions])
        if ended.status == "interrupted" and _left_to_ask(store, summary):
            ui.note(f"Continue it: interviewer mock --resume {summary.session_id}")
        ui.note(f"Export it: interviewer report {summary.session_id} --format md|html|json")
    if ended.status == "interrupted":
        raise typer.Exit(ExitStatus.INTERRUPTED)
    if summary.unfinished:
        raise typer.Exit(ExitStatus.ERROR)


def _not_started(resumed: str | None) -> str:
    """What a mock interview that did not begin left: a resumed one as it was, a new one nothing."""
    if resumed:
        return f"Session {resumed} stays as it was."
    return "No interview was started, and nothing was saved."


def _due_interview(
    store: Any, questions: "Bank", count: int, topic: list[str] | None, difficulty: str | None, *, quiet: bool
) -> list[Any]:
    """The questions of `mock --due`, and a line saying how the schedule chose them."""
    from interviewer import planview, ui

    pool = questions.select(topic or (), _difficulty(difficulty))
    if count > len(pool):
        raise UsageError(f"only {len(pool)} questions match; ask for at most {len(pool)}")
    picks = _schedule(store, pool).interview(pool, count)
    if not quiet:
        ui.note(planview.interview_note(picks))
    return [p.question for p in picks]


def _follow_ups_asked(given: int | None, none: bool, interactive: bool) -> int:
    """How many follow-ups a new interview asks at most per question. Scripted answers get none unless
    --follow-ups is given: a script written with one block per question keeps its meaning."""
    if none:
        return 0
    if given is not None:
        return given
    return DEFAULT_FOLLOW_UPS if interactive else 0


def _left_to_ask(store: Any, summary: Any) -> bool:
    """Whether an interrupted interview has anything left to ask: a question, or a follow-up."""
    if any(q.status == "not reached" for q in summary.questions):
        return True
    return any(a.open_follow_up for a in store.attempts(session_id=summary.session_id))


SCRIPT_ROOM = 1_000  # characters per answer for separators and blank lines, in a script of answers


class Answers(list[str]):
    """A script's answers, cut short by Ctrl-C (`signal` None) or a stop signal while it was read."""

    def __init__(self, answers: list[str], signal: int | None):
        super().__init__(answers)
        self.signal = signal


def _read_script(path: Path | None, planned: int, follow_ups: int = 0) -> list[str]:
    """The answers of a scripted interview, from `path` or standard input, separated by lines of ---.

    Reading stops past what `planned` answers of the longest length can fill, so an endless stream
    ends in an error, not in a MemoryError.
    """
    from interviewer import ui
    from interviewer.session import ANSWER_SEPARATOR, split_answers

    most = planned * (MAX_ANSWER_CHARS + SCRIPT_ROOM)
    if path is not None:
        text = read_text_file(path, most)
    else:
        if sys.stdin.isatty():
            ui.note(f"Type the answers, separated by lines holding only {ANSWER_SEPARATOR}; end with Ctrl-D.")
        try:
            text = ui.read_piped_answer(most)
        except ui.AnswerCancelled as cancelled:
            # What came before Ctrl-C or a stop signal is kept: the interview runs on it and stops
            # where it ends, as Ctrl-C in the editor does, and `mock --resume` continues it.
            answers = split_answers(cancelled.text)
            if not any(a.strip() for a in answers):
                if cancelled.signal:
                    raise Stopped(cancelled.signal, "nothing was typed") from None
                raise KeyboardInterrupt from None
            for number, answer in enumerate(answers, start=1):
                _check_length(answer, f"answer {number}")
            return Answers(answers[:planned], cancelled.signal)
    answers = split_answers(text)
    for number, answer in enumerate(answers, start=1):
        _check_length(answer, f"answer {number}")
    if len(answers) > planned:
        raise UsageError(
            f"{len(answers)} answers given for {planned} "
            + ("questions" if not follow_ups else f"questions and follow-ups (up to {follow_ups} a question)")
            + " (answers are separated by lines holding only ---)"
        )
    if len(text) > most:
        raise UsageError(f"the answers run past {most:,} characters, too long for {planned} questions")
    return answers


# --- reports ----------------------------------------------------------------------------------


@_command(app)
def report(
    session: Annotated[
        str, typer.Argument(metavar="SESSION", help="A session id (or its start), or `latest`.")
    ] = "latest",
    fmt: Annotated[
        Optional[str],
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="md, html or json (default: as the -o file's name ends, else md).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file instead of printing (`-` prints).",
            show_default=False,
        ),
    ] = None,
    bank: BankOption = None,
) -> None:
    """Export a session as a report: Markdown, a self-contained HTML page, or JSON for scripts."""
    from interviewer import report as reports

    if fmt is None:  # `-o report.html` is HTML, not Markdown in a file named .html
        named = output.suffix if output is not None and str(output) != "-" else ""
        fmt = named if named.lower().lstrip(".") in ("md", "markdown", "html", "htm", "json") else "md"
    fmt = fmt.lower().lstrip(".")
    fmt = {"markdown": "md", "htm": "html"}.get(fmt, fmt)
    if fmt not in reports.FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use md, html or json")
    text = reports.render(reports.build(_open_store(read_only=True), session, _current_hashes(bank)), fmt)
    if output is None or str(output) == "-":  # `-o -` is standard output, not a file named "-"
        sys.stdout.write(text)
        return
    try:
        _write_whole(output, text)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror or exc}") from None
    print(visible(f"Wrote {output} ({fmt}, {len(text.encode()):,} bytes)."), file=sys.stderr)


def _write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all: a write that fails (a full disk) leaves the file
    that was there, not the first part of a report. A temporary file beside it is renamed into
    place, keeping the old file's permissions. What is no regular file (/dev/null, a pipe) or a
    symbolic link (/dev/stdout) is written directly, and so is a file in a folder where no
    temporary file can be made."""
    import os
    import shutil

    target = path
    if path.is_symlink() or (path.exists() and not path.is_file()):
        target.write_text(text, encoding="utf-8")
        return
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        try:
            temporary.write_text(text, encoding="utf-8")
        except PermissionError:
            if not target.exists():
                raise
            target.write_text(text, encoding="utf-8")
            return
        if target.exists():
            shutil.copymode(target, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


# --- history and grade ------------------------------------------------------------------------


@_command(app)
def history(
    question: Annotated[
        Optional[str],
        typer.Option(
            "--question",
            "-q",
            metavar="ID",
            autocompletion=_complete_ids,
            help="Only attempts at this question.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            "-n",
            metavar="N",
            min=1,
            max=MAX_HISTORY,
            help="How many attempts to show, newest first.",
        ),
    ] = 20,
    json_output: JsonOption = False,
    bank: BankOption = None,
) -> None:
    """List your past attempts, newest first: when, session, question, score and grader."""
    from dataclasses import asdict

    attempts = _open_store(read_only=True).attempts(question_id=question, limit=limit)
    if question is not None and not attempts:
        _known_question(question, bank)  # a typo is an error, not "no attempts"
    versions = question_versions(attempts, bank)
    if json_output:
        _print_json(
            {
                "attempts": [
                    {**asdict(a), "question_version": versions.get(a.answer_id, "current")} for a in attempts
                ]
            }
        )
        return
    from interviewer import ui

    if not attempts:
        start = f"interviewer practice {question}" if question else "interviewer practice"
        ui.console.print(f"No attempts{f' at {question}' if question else ''} yet. Start with `{start}`.")
        return
    ui.console.print(ui.history_table(attempts, versions))
    if any(a.later_failure and not a.skipped for a in attempts):
        ui.note(
            "Regrade failed: a later grading of the answer failed; the earlier grade shown stands. "
            "`interviewer show SESSION N` says why."
        )
    if versions:
        ui.note(
            "An older version: the question has changed since; such answers count as weaker evidence for "
            "your schedule. No longer in the bank: kept here, never scheduled."
        )


def _known_question(question_id: str, bank: list[Path] | None) -> None:
    """Raise the bank's "no question" error when it lacks the id (nothing when it does not load)."""
    from interviewer.errors import BankError

    try:
        questions = _load_bank(bank)
    except BankError:
        return
    questions.get(question_id)


@_command(app)
def stats(json_output: JsonOption = False, bank: BankOption = None) -> None:
    """Show your progress: answers so far, average per topic, weakest questions, most improved; and
    your schedule: what is due today and this week, the next two weeks, and the key points retained
    per topic."""
    from interviewer.summary import progress

    store = _open_store(read_only=True)
    result = progress(store)
    outlook = _outlook(store, bank) if result.answers else None
    if json_output:
        _print_json({**result.to_json(), "schedule": outlook.to_json() if outlook else None})
        return
    from interviewer import ui

    if not result.answers:
        ui.console.print("Nothing practised yet. Start with `interviewer mock` or `interviewer practice`.")
        return
    ui.console.print(ui.progress_view(result))
    if outlook is not None:
        from datetime import date

        from interviewer.planview import outlook_view

        ui.console.print(outlook_view(outlook, date.today()))


def _outlook(store: Any, bank: list[Path] | None) -> Any:
    """What `stats` shows of the schedule; None (said on standard error) when the bank cannot load."""
    from datetime import date

    from interviewer import planview, ui
    from interviewer.errors import BankError
    from interviewer.schedule import UNTIL_KEY

    try:
        questions = _load_bank(bank).questions
    except BankError as exc:
        ui.note(f"No schedule: the bank does not load ({str(exc).splitlines()[0]})")
        return None
    current = {q.id: q.content_hash for q in questions}
    versions = store.answered_versions()
    stale = sum(n for (qid, version), n in versions.items() if qid in current and current[qid] != version)
    removed = len({qid for qid, _ in versions if qid not in current})
    stored = store.preference(UNTIL_KEY)
    interview = date.fromisoformat(stored) if stored else None
    if interview and interview < date.today():
        interview = None
    return planview.outlook(_schedule(store, questions), questions, stale, removed, interview)


def _current_hashes(bank: list[Path] | None) -> dict[str, str] | None:
    """The bank's content hash of each question; None when the bank does not load."""
    from interviewer.errors import BankError

    try:
        return {q.id: q.content_hash for q in _load_bank(bank).questions}
    except BankError:
        return None


def question_versions(attempts: Sequence[Any], bank: list[Path] | None) -> dict[int, str]:
    """Per answer whose question has changed since, "older" (the bank has a newer version) or
    "removed" (the bank no longer has it); nothing when the bank does not load."""
    current = _current_hashes(bank)
    if current is None:
        return {}
    marks = {}
    for a in attempts:
        if a.question_id not in current:
            marks[a.answer_id] = "removed"
        elif current[a.question_id] != a.question.get("content_hash"):
            marks[a.answer_id] = "older"
    return marks


@_command(app)
def plan(
    until: Annotated[
        Optional[str],
        typer.Option(
            "--until",
            metavar="DATE",
            help="The interview date: YYYY-MM-DD, or in days or weeks (14d, 3w); remembered; none forgets it.",
            show_default=False,
        ),
    ] = None,
    per_day: Annotated[
        Optional[int],
        typer.Option(
            "--per-day",
            metavar="N",
            min=1,
            max=MAX_PER_DAY,
            help="Questions a day you can practise (with a date: the least that gets you ready; without: 5).",
            show_default=False,
        ),
    ] = None,
    retention: Annotated[
        Optional[float],
        typer.Option(
            "--retention",
            metavar="P",
            help="The chance of recalling each key point to aim for, 0.7 to 0.99 (default 0.9); remembered.",
            show_default=False,
        ),
    ] = None,
    topic: TopicOption = None,
    json_output: JsonOption = False,
    bank: BankOption = None,
) -> None:
    """Plan your practice toward the interview: how many questions a day, which topics are behind,
    and today's session, so that on the day every key point has been answered right and recently.

    The schedule is FSRS over the key points of your graded answers; the plan assumes each question
    practised is then answered right, and is worked out again from your grades each time.
    """
    from datetime import date as Date

    from interviewer import planview
    from interviewer.schedule import RETENTION_KEY, UNTIL_KEY, check_retention, parse_date
    from interviewer.schedule import plan as make_plan

    questions = _load_bank(bank)
    pool = questions.select(topic or ())
    store = _open_store()
    today = Date.today()
    if retention is not None:
        store.set_preference(RETENTION_KEY, repr(check_retention(retention)))
    if until is not None:
        day = parse_date(until, today)
        if day is not None and day < today:
            raise UsageError(
                f"the interview date {day.isoformat()} is in the past; give a later one, or none"
            )
        store.set_preference(UNTIL_KEY, day.isoformat() if day else None)
    stored = store.preference(UNTIL_KEY)
    day = Date.fromisoformat(stored) if stored else None
    if day is not None and day < today:
        store.set_preference(UNTIL_KEY, None)  # the interview is behind us
        day = None
    schedule = _schedule(store, pool)
    result = make_plan(schedule, pool, until=day, per_day=per_day)
    if json_output:
        _print_json(planview.plan_json(result, schedule.now))
        return
    from interviewer import ui

    ui.console.print(planview.plan_view(result, schedule.now))


@_command(app)
def review(
    session: Annotated[
        str, typer.Argument(metavar="SESSION", help="A session id (or its start), or `latest`.")
    ] = "latest",
    number: Annotated[
        Optional[int],
        typer.Argument(
            metavar="NUMBER",
            help="The question to rate (1 for the first), as `show` numbers them.",
            show_default=False,
        ),
    ] = None,
    rate: Annotated[
        Optional[str],
        typer.Option(
            "--rate",
            metavar="RATING",
            help="Rate the answer yourself: again (you guessed), hard, good or easy; auto gives back the grade's.",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
    bank: BankOption = None,
) -> None:
    """See how a session's answers count for your schedule, and rate them yourself where the grade
    is wrong about what you know ("I guessed that one").

    The first answer to a question in a session is a review of its key points, each rated by its
    verdict (covered: good, partial: hard, missing: again; a quick, complete answer: easy). Your own
    rating rates every key point of the answer instead.
    """
    from interviewer import planview, ui

    store = _open_store(read_only=rate is None)
    row = store.session(session)
    rows = _reviewed(store, row.id, bank)
    if rate is not None:
        if number is None:
            if len(rows) != 1:
                raise UsageError(
                    f"session {row.id} has {len(rows)} questions: give the number of the one to rate "
                    f"(`interviewer review {row.id}` lists them)"
                )
            number = rows[0].number
        rows = [_rate(store, row.id, rows, number, rate, bank)]
    elif number is not None:
        rows = [r for r in rows if r.number == number] or [_no_number(row.id, rows, number)]
    now = _now()
    if json_output:
        _print_json({"session_id": row.id, "answers": [r.to_json() for r in rows]})
        return
    if not rows:
        ui.console.print(f"Session {row.id} has no answers.")
        return
    ui.console.print(planview.review_table(rows, now))
    if rate is None:
        ui.note(
            f"Rate one yourself: interviewer review {row.id} NUMBER --rate again|hard|good|easy (auto: the grade's)"
        )


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _no_number(session_id: str, rows: list[Any], number: int) -> NoReturn:
    numbers = ", ".join(str(r.number) for r in rows) or "none"
    raise UsageError(f"session {session_id} has no question {number} (its questions: {numbers})")


def _rate(
    store: Any, session_id: str, rows: list[Any], number: int, rate: str, bank: list[Path] | None
) -> Any:
    from interviewer.planview import when
    from interviewer.schedule import parse_rating

    rating = parse_rating(rate)
    chosen = next((r for r in rows if r.number == number), None) or _no_number(session_id, rows, number)
    if chosen.why_not and chosen.why_not.startswith("a retry"):
        raise UsageError(f"question {number} of session {session_id} is {chosen.why_not}")
    store.rate(chosen.answer_id, rating)
    [updated] = [r for r in _reviewed(store, session_id, bank) if r.number == number]
    from interviewer import ui

    said = f"rated {rating} by you" if rating else "rated by its grade again"
    due = f"; {updated.question_id} is next due {when(updated.next_due, _now())}" if updated.next_due else ""
    ui.note(f"Question {number} ({updated.question_id}) is {said}{due}.")
    return updated


def _reviewed(store: Any, session_id: str, bank: list[Path] | None) -> list[Any]:
    """The session's answers as the schedule counts them, numbered as `show` numbers them."""
    from interviewer.errors import BankError
    from interviewer.planview import Reviewed
    from interviewer.schedule import answer_ratings

    attempts = store.attempts(session_id=session_id)
    try:
        questions = _load_bank(bank)
    except BankError:
        questions = None
    current = {q.id: q for q in questions.questions} if questions else {}
    counted = {r.answer_id: r for r in store.reviews(session_id=session_id)}
    schedule = (
        _schedule(store, [current[a.question_id] for a in attempts if a.question_id in current])
        if current
        else None
    )
    result = []
    for number, a in enumerate(attempts, 1):
        question = current.get(a.question_id)
        version = (
            "removed"
            if question is None
            else ("current" if question.content_hash == a.question["content_hash"] else "older")
        )
        review = counted.get(a.answer_id)
        status = "skipped" if a.skipped else a.grade_status
        ratings = answer_ratings(review, version == "older") if review else None
        if review is None:
            why_not = "a retry: only the first answer in a session counts"
        elif ratings is None:
            why_not = "no review until it is graded" if status in ("pending", "failed") else "no review"
        else:
            why_not = None
        state = schedule.states.get(a.question_id) if schedule else None
        result.append(
            Reviewed(
                number=number,
                question_id=a.question_id,
                answer_id=a.answer_id,
                status=status,
                score=a.score if status == "graded" else None,
                counts=ratings is not None,
                why_not=why_not,
                ratings=ratings or {},
                own=review.rating if review else None,
                version=version,
                next_due=state.due if state and version != "removed" else None,
            )
        )
    return result


@_command(app)
def grade(
    session: Annotated[
        str, typer.Argument(metavar="SESSION", help="A session id (or its start), or `latest`.")
    ] = "latest",
    regrade: Annotated[
        bool, typer.Option("--all", help="Grade every answer again, e.g. with an LLM after an offline run.")
    ] = False,
    json_output: JsonOption = False,
    grader: GraderOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Grade the answers of a session that are still pending or whose grading failed (--all: every answer)."""
    from interviewer import ui
    from interviewer.session import grade_pending

    store = _open_store()
    row = store.session(session)
    chosen, grading_note = _grader(grader, model, base_url)
    if not json_output:
        ui.note(grading_note)
    done = grade_pending(store, row.id, chosen, regrade=regrade)
    if json_output:
        _print_json(
            {
                "session_id": row.id,
                "graded": [
                    {"answer_id": a.answer_id, "question_id": a.question_id, **g.model_dump(mode="json")}
                    for a, g in done
                ],
            }
        )
    elif not done:
        skipped = sum(a.skipped for a in store.attempts(session_id=row.id))
        but = f", but for {skipped} skipped (a skip counts as 0)" if skipped else ""
        ui.console.print(f"Nothing to grade in session {row.id}: every answer has a grade{but}.")
    else:
        for attempt, result in done:
            ui.console.print(ui.attempt_line(attempt.question_id, result, attempt.position))
        if any(not g.ok and a.grade_status == "graded" for a, g in done):
            ui.note("An answer whose regrade failed keeps the grade it had; `interviewer show` shows both.")
        ui.console.print(ui.show_hint(row.id))
    if any(not g.ok for _, g in done):
        raise typer.Exit(ExitStatus.ERROR)


@_command(app)
def show(
    session: Annotated[str, typer.Argument(help="A session id (or its start), or `latest`.")] = "latest",
    number: Annotated[
        Optional[int],
        typer.Argument(
            help="Only this question (1 for the first); every question when left out.", show_default=False
        ),
    ] = None,
) -> None:
    """Read the feedback on a session's answers: per question your answer, the score, the key-point
    checklist with evidence, errors, what to improve and the reference answer."""
    from interviewer import ui
    from interviewer.grading.model import Grade
    from interviewer.session import question_of
    from interviewer.summary import summarize

    store = _open_store(read_only=True)
    summary = summarize(store, store.session(session))
    results = summary.questions
    if number is not None:
        if not 1 <= number <= len(results):
            raise UsageError(
                f"session {summary.session_id} has {len(results)} question{'s' if len(results) != 1 else ''}: "
                f"give a number from 1 to {len(results)}"
            )
        results = [results[number - 1]]
    attempts = {a.answer_id: a for a in store.attempts(session_id=summary.session_id)}
    for result in results:
        attempt = attempts.get(result.answer_id) if result.answer_id is not None else None
        ui.console.print(
            ui.answer_feedback(
                summary.session_id,
                result,
                len(summary.questions),
                question_of(attempt) if attempt else None,
                attempt.text if attempt else None,
                Grade.model_validate(attempt.grade) if attempt and attempt.grade else None,
                attempt.follow_ups if attempt else (),
                attempt.later_failure if attempt else None,
            )
        )


@_command(app)
def recover(
    files: Annotated[
        Optional[list[Path]],
        typer.Argument(
            metavar="FILE",
            help="Recovery files to store (default: every file in the home's recovery folder).",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Store answers that were kept in a recovery file because the database could not take them.

    When an answer cannot be saved (a full disk, a database locked for too long, a damaged file), it
    is written to a recovery file and its path is printed. Once the database works again, this
    stores each file's answers (ungraded: `interviewer grade SESSION` grades them) and deletes the file.
    """
    from interviewer import config, recovery

    if not files:
        files = sorted(recovery.folder(config.home()).glob("*.json"))
        if not files:
            if json_output:
                _print_json({"recovered": []})
            else:
                print(f"Nothing to recover in {recovery.folder(config.home())}.")
            return
    store = _open_store()
    recovered = []
    for path in files:
        sessions = recovery.restore(store, path)
        recovered.append({"file": str(path), "sessions": sessions})
        if not json_output:
            print(
                f"Stored the answers from {path} in session {', '.join(sessions)}; `interviewer grade` grades them."
            )
    if json_output:
        _print_json({"recovered": recovered})


@_command(app)
def paths(json_output: JsonOption = False) -> None:
    """Show where interviewer keeps things: data, database, cache, banks (set INTERVIEWER_HOME to move them)."""
    from interviewer import bank, config, resources
    from interviewer.store import DB_NAME

    where = {
        "home": str(config.home()),
        "database": str(config.home() / DB_NAME),
        "cache": str(config.cache_dir()),
        "builtin_bank": str(resources.bank_dir()),
        "extra_banks": [str(p) for p in bank.paths_from_env()],
    }
    if json_output:
        _print_json(where)
        return
    for name, value in where.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(
            visible(f"{name.replace('_', ' '):13} {shown or '(none; set INTERVIEWER_BANK or pass --bank)'}")
        )


@_command(app)
def doctor(
    json_output: JsonOption = False,
    grader: GraderOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Check the configuration and the LLM endpoint: a request, one test grading, the output mode it supports."""
    from interviewer import config
    from interviewer import doctor as checks

    settings = config.load(grader=grader, model=model, base_url=base_url)
    if json_output:
        _doctor_json(settings)
        return
    width = 18
    for name, value in checks.configuration(settings):
        print(f"{name:<{width}}{visible(value)}")
    if settings.choose_grader() == "offline":
        print(
            "\nOK: answers are graded offline (no network, no key). To grade with an LLM, set OPENAI_API_KEY, "
            "or pass --base-url for a local server such as Ollama (http://localhost:11434/v1) with --model."
        )
        return
    results = checks.run(settings, _load_bank(None), config.cache_dir() / "llm-modes.json")
    for check in results:
        print(f"{check.name:<{width}}{'ok' if check.ok else 'FAILED'}: {visible(check.detail)}")
    failed = [c for c in results if not c.ok]
    if failed:
        print(f"\nProblem: {visible(failed[0].detail)}", file=sys.stderr)
        raise typer.Exit(ExitStatus.ERROR)
    print(visible(f"\nOK: grading with {settings.model} at {settings.shown_endpoint} works."))


def _doctor_json(settings: Any) -> None:
    """`doctor --json`: the settings in effect, and the endpoint's checks when an LLM is configured."""
    from dataclasses import asdict

    from interviewer import config
    from interviewer import doctor as checks

    chosen = settings.choose_grader()
    results = (
        []
        if chosen == "offline"
        else checks.run(settings, _load_bank(None), config.cache_dir() / "llm-modes.json")
    )
    ok = all(check.ok for check in results)
    _print_json(
        {
            "configuration": {
                name.lower().replace(" ", "_"): value for name, value in checks.configuration(settings)
            },
            "grader": chosen,
            "checks": [asdict(check) for check in results],
            "ok": ok,
        }
    )
    if not ok:
        raise typer.Exit(ExitStatus.ERROR)


@_command(app)
def calibrate(
    sets: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--set",
            metavar="SET",
            help="A labelled set: CSV (with a header) or JSONL with question (an id or the prompt), answer, "
            "score and optional kind, or TOML as shipped; a shipped set's name also works (repeatable; "
            "default: every shipped set).",
            show_default=False,
        ),
    ] = None,
    scale: Annotated[
        float,
        typer.Option(
            "--scale",
            metavar="MAX",
            help="The top of your sets' score range (0..MAX); scores are rescaled to 0-10.",
        ),
    ] = 10.0,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            metavar="N",
            min=1,
            max=20,
            help="Grade every answer N times, to measure run-to-run agreement.",
        ),
    ] = 1,
    json_output: JsonOption = False,
    bank: BankOption = None,
    grader: GraderOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Measure a grader against labelled answers: how far its scores agree with an interviewer's, and a verdict.

    Grades the shipped labelled sets (or your own, --set) and prints, against the labels: Pearson,
    Spearman, quadratic-weighted kappa, mean error, share within one point, the best score of an
    answer built to game a grader, errors reported on correct answers, failures, tokens and time.
    Nothing is saved to your answers. Ctrl-C stops and prints the figures so far.
    """
    from interviewer import calibrate as calibration

    chosen, grading_note = _grader(grader, model, base_url)
    # The shipped sets are thousands of gradings, spread over processes: they start while the sets
    # are read.
    pool = calibration.processes_ahead(chosen, shipped=not sets)
    try:
        labelled = calibration.load_sets(sets, _load_bank(bank), scale=scale)
        _calibrate(labelled, chosen, grading_note, repeat=repeat, json_output=json_output, pool=pool)
    finally:
        if pool:
            pool.shutdown(wait=False, cancel_futures=True)


def _calibrate(
    labelled: "list[LabelledSet]",
    chosen: "Grader",
    grading_note: str,
    *,
    repeat: int,
    json_output: bool,
    pool: "ProcessPoolExecutor | None",
) -> None:
    from interviewer import calibrate as calibration
    from interviewer import ui

    answers = sum(len(s.answers) for s in labelled)
    gradings = answers * repeat
    if not json_output:
        runs = f" × {repeat} runs" if repeat > 1 else ""
        ui.note(
            f"{grading_note}\nGrading {counted(answers, 'labelled answer')}{runs} from "
            f"{', '.join(s.name for s in labelled)}. Ctrl-C stops and shows the figures so far."
        )
    with ui.progress_bar(gradings, "Grading") as progress:
        result = calibration.run(labelled, chosen, repeat=repeat, pool=pool, progress=progress)
    if json_output:
        _print_json(result.to_json())
    else:
        ui.console.print(ui.calibration_view(result))
    if result.interrupted:
        ui.note(f"Interrupted after {result.done} of {result.gradings} gradings.")
        raise typer.Exit(ExitStatus.INTERRUPTED)
    if result.overall.graded == 0:
        raise typer.Exit(ExitStatus.ERROR)


# --- bank -------------------------------------------------------------------------------------


@_command(bank_app, "list")
def bank_list(topic: TopicOption = None, json_output: JsonOption = False, bank: BankOption = None) -> None:
    """List the questions: id, difficulty and prompt."""
    from interviewer import bank_cache

    listed = _listing(bank)
    known = list(dict.fromkeys(q.topic for q in listed))
    bank_cache.check_topics(topic or (), known)
    chosen = [q for q in listed if not topic or q.topic in topic]
    if json_output:
        _print_json(
            {
                "questions": [
                    {
                        "id": q.id,
                        "topic": q.topic,
                        "difficulty": q.difficulty,
                        "prompt": q.prompt,
                        "key_points": q.key_points,
                        "hash": q.content_hash,
                    }
                    for q in chosen
                ]
            }
        )
        return
    _print_questions(chosen)


def _listing(extra: list[Path] | None) -> list[Any]:
    """The bank as `bank list` shows it: from the cache when it holds every file as it is now
    (no pydantic model built), else loaded, validated and cached."""
    from interviewer import bank_cache, config

    paths = [*bank_cache.paths_from_env(), *(extra or [])]
    return bank_cache.listing(paths, config.cache_dir() / "bank") or _load_bank(extra).listing()


def _print_questions(questions: list[Any]) -> None:
    """Plain aligned lines, grouped by topic: `bank list` runs often and rich costs ~25 ms of it."""
    import shutil

    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 10_000
    id_width = max(len(q.id) for q in questions)
    topics: dict[str, list[Any]] = {}
    for q in questions:
        topics.setdefault(q.topic, []).append(q)
    lines = []
    for topic, group in topics.items():
        lines.append(f"{topic} ({len(group)})")
        for q in group:
            line = visible(f"  {q.id:<{id_width}}  {q.difficulty:<6}  {q.prompt}")
            lines.append(line if len(line) <= width else line[: width - 1] + "…")
    lines.append(
        f"{counted(len(questions), 'question')} in {counted(len(topics), 'topic')}. "
        "`interviewer bank show ID` shows one."
    )
    print("\n".join(lines))


@_command(bank_app, "show")
def bank_show(
    question_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", autocompletion=_complete_ids, help="The question's id, e.g. optimization/adam."
        ),
    ],
    terms: Annotated[
        bool,
        typer.Option(
            "--terms",
            help="For bank authors: also the words the offline grader matches and the follow-up questions.",
        ),
    ] = False,
    json_output: JsonOption = False,
    bank: BankOption = None,
) -> None:
    """Show a question: prompt, reference answer, key points and the misconceptions the grader flags."""
    questions = _load_bank(bank)
    question = questions.get(question_id)
    if json_output:
        _print_json(question.snapshot())
        return
    from interviewer import ui

    source = questions.sources.get(question.id)
    ui.console.print(ui.question_detail(question, str(source) if source else None, author=terms))


@_command(bank_app, "validate")
def bank_validate(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Bank files or folders to check.", show_default=False)
    ],
) -> None:
    """Check bank files: exit 0 when valid, else one line per problem (file, question id, field) and exit 2."""
    from interviewer import bank

    loaded = bank.load(paths, builtin=False)
    files = len(set(loaded.sources.values()))
    print(
        f"ok: {counted(len(loaded), 'question')} in {counted(files, 'file')}, "
        f"{counted(len(loaded.topics), 'topic')}"
    )


@_command(bank_app, "import")
def bank_import(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Text, Markdown, CSV, JSONL or JSON (a list) files of questions with answers.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write every question into this one bank file (default: one file per topic, named by it, in the current folder).",
            show_default=False,
        ),
    ] = None,
    topic: Annotated[
        Optional[str],
        typer.Option(
            "--topic",
            metavar="TOPIC",
            help="Put every question in this topic (default: the file's headings or topic column, else its name).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace bank files that exist.")] = False,
    with_llm: Annotated[
        bool,
        typer.Option(
            "--with-llm",
            help="Ask the configured LLM to write key points, terms and misconceptions, for you to review.",
        ),
    ] = False,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    bank: BankOption = None,
) -> None:
    """Import questions with reference answers from your notes into bank files, gradable at once.

    Reads topic headings and question lines each followed by its answer (`##`/`###` headings, `Q:`/`A:`
    pairs and numbered lists too), or CSV/JSONL (or a JSON list) with `question`, `reference` (or `answer`) and optional
    `topic`, `id`, `difficulty`. Key points are derived from each reference when the bank loads, or
    written into the file by an LLM with `--with-llm`.
    """
    from interviewer import bank_toml, importer

    enricher = _enricher(model, base_url) if with_llm else None

    if topic is not None and not importer.slug(topic):
        raise UsageError(f"--topic {topic!r} has no letters or digits to name a topic with")
    folder = Path.cwd()
    taken = importer.taken_ids(_load_bank(bank), output, folder)
    result = importer.plan([importer.read(p) for p in paths], taken=taken, topic=topic)
    if not len(result):
        raise UsageError(
            f"no questions with answers found in {', '.join(map(str, paths))}{_skipped_lines(result)}"
        )
    notes = _enrich(enricher, [q for qs in result.questions.values() for q in qs]) if enricher else []
    files = importer.files(result, output, folder, paths)
    bank_toml.write_all(files, replace=force)
    _print_import(result, files)
    _print_enriched(enricher, notes)


@_command(bank_app, "enrich")
def bank_enrich(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="The bank file to enrich (it is rewritten; comments are not kept)."
        ),
    ],
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Ask the configured LLM to write key points, terms and misconceptions for the questions of a
    bank file that have none, checked against each reference; review them in the file."""
    from interviewer import bank, bank_toml
    from interviewer.inputs import read_toml

    problems = bank.load_file(path)[1]
    if problems:
        raise UsageError("\n".join(problems))
    data = read_toml(path)
    enricher = _enricher(model, base_url)
    notes = _enrich(enricher, data["questions"])
    comment = (
        f"Key points marked `derived` were proposed by {enricher.name}: review them, then delete that line."
    )
    content = bank_toml.render(data["topic"], data["questions"], data.get("title"), comment)
    bank_toml.write_all({path: content}, replace=True)
    _print_enriched(enricher, notes)


def _enricher(model: str | None, base_url: str | None) -> Any:
    from interviewer import config
    from interviewer.enrich import Enricher
    from interviewer.grading.llm import LLMGrader, ModeMemory

    settings = config.load(grader="llm", model=model, base_url=base_url)
    if not settings.endpoint_configured:
        raise UsageError(
            "asking an LLM needs an endpoint: set OPENAI_API_KEY, or pass --base-url "
            "(e.g. http://localhost:11434/v1 for Ollama)"
        )
    return Enricher(LLMGrader(settings, memory=ModeMemory(config.cache_dir() / "llm-modes.json")))


def _enrich(enricher: Any, questions: list[dict[str, Any]]) -> list[str]:
    """The model's key points into the questions that have none; nothing is written if the endpoint fails."""
    from interviewer.grading.llm import GradingFailed

    try:
        return enricher.apply(questions)
    except GradingFailed as failed:
        raise InterviewerError(f"{failed}; nothing was written") from None


def _print_enriched(enricher: Any, notes: list[str]) -> None:
    if enricher is None:
        return
    lines = [f"Key points proposed by {enricher.name} where the file had none, marked derived: review them."]
    lines += [f"  {note}" for note in notes]
    print(visible("\n".join(lines)))


def _skipped_lines(result: Any) -> str:
    return "".join(f"\n  skipped {s}" for s in result.skipped)


def _print_import(result: Any, files: dict[Path, str]) -> None:
    topics = result.questions
    names = list(files) * len(topics) if len(files) == 1 else list(files)
    width = max(len(t) for t in topics)
    lines = [f"Imported {counted(len(result), 'question')} in {counted(len(topics), 'topic')}:"]
    lines += [
        f"  {t:<{width}}  {len(qs):>4}  -> {path}"
        for (t, qs), path in zip(topics.items(), names, strict=True)
    ]
    if result.skipped:
        lines.append(f"Skipped {len(result.skipped)}:")
        lines += [f"  {s}" for s in result.skipped]
    shown = " ".join(f"--bank {p}" for p in dict.fromkeys(p.parent if len(files) > 1 else p for p in files))
    lines.append(f"Key points are derived from each reference. Use them with `interviewer practice {shown}`.")
    print(visible("\n".join(lines)))


class _OutputFailed(Exception):
    """Standard output could not be written: a full disk, a closed pipe."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


class _GuardedOutput:
    """Standard output whose write errors are told apart from every other OSError, so that a full
    disk (`interviewer report > /dev/full`) is one error line instead of a traceback."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except OSError as exc:
            raise _OutputFailed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise _OutputFailed(exc) from None


def main() -> None:
    import os

    redirected = sys.stdout is not None and not sys.stdout.isatty()
    if redirected:  # a terminal is left as it is: the interactive editor draws on it
        sys.stdout = _GuardedOutput(sys.stdout)
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # here, where a failure is caught, rather than at exit
    except _OutputFailed as exc:
        # What could not be written stays in the buffer; point the descriptor at /dev/null so that
        # Python's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno() if sys.__stdout__ else 1)
        if not isinstance(exc.error, BrokenPipeError):  # `| head` closing early is no error to report
            print(f"error: cannot write to standard output: {exc}", file=sys.stderr)
        sys.exit(ExitStatus.ERROR)
