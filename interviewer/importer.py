"""Questions with reference answers, read from a user's notes (text, Markdown, CSV, JSONL).

Reading is forgiving where a document's layout varies (headings, `Q:`/`A:`, numbered lists) and
strict where a file is broken: a malformed file raises `UsageError` naming the file and line; an
item that cannot become a question is skipped and reported with its line.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interviewer.errors import UsageError
from interviewer.inputs import read_text_file

if TYPE_CHECKING:
    from interviewer.bank import Bank

MAX_FILE_CHARS = 20_000_000
DIFFICULTIES = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Item:
    """One question as the file gives it; `line` is where it starts."""

    source: Path
    line: int
    prompt: str
    reference: str
    topic: str | None = None
    id: str | None = None
    difficulty: str | None = None


@dataclass(frozen=True)
class Skipped:
    source: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class Read:
    items: list[Item] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def read(path: Path) -> Read:
    """The questions of one file, by its extension: .csv, .jsonl / .ndjson, .json (a list of objects,
    or one a line), else text or Markdown."""
    content = read_text_file(path, MAX_FILE_CHARS)
    if len(content) > MAX_FILE_CHARS:
        raise UsageError(f"{path}: larger than {MAX_FILE_CHARS:,} characters; is it the right file?")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, content)
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path, content)
    if suffix == ".json":
        body = content.removeprefix("\ufeff")
        return read_json_list(path, body) if body.lstrip().startswith("[") else read_jsonl(path, body)
    return read_document(path, content)


# --- CSV and JSONL --------------------------------------------------------------------------------

_ANSWER_FIELDS = ("reference", "answer")


def _item(source: Path, line: int, row: dict[str, object], out: Read) -> None:
    """Add the row as an item, or as skipped when its question or answer is empty."""

    def text(name: str) -> str | None:
        value = row.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise UsageError(f"{source}:{line}: {name!r} must be text, not {type(value).__name__}")
        return value.strip() or None

    prompt = text("question")
    reference = next((r for name in _ANSWER_FIELDS if (r := text(name))), None)
    difficulty = text("difficulty")
    if difficulty is not None and difficulty.lower() not in DIFFICULTIES:
        raise UsageError(f"{source}:{line}: difficulty {difficulty!r} is not easy, medium or hard")
    if not prompt:
        out.skipped.append(Skipped(source, line, "no question"))
    elif not reference:
        out.skipped.append(Skipped(source, line, "no reference answer"))
    else:
        out.items.append(
            Item(
                source,
                line,
                prompt,
                reference,
                text("topic"),
                text("id"),
                difficulty.lower() if difficulty else None,
            )
        )


def read_csv(source: Path, content: str) -> Read:
    """A CSV file with a header naming `question`, `reference` (or `answer`) and optional columns."""
    reader = csv.reader(io.StringIO(content.removeprefix("\ufeff"), newline=""), strict=True)
    out = Read()
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if "question" not in header or not any(name in header for name in _ANSWER_FIELDS):
            raise UsageError(
                f"{source}:1: the header needs a 'question' and a 'reference' (or 'answer') column; "
                f"it has {', '.join(repr(h) for h in header) or 'nothing'}"
            )
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells[len(header) :]):  # an unquoted comma split a cell
                raise UsageError(
                    f"{source}:{start}: {len(cells)} cells, but the header names {len(header)} columns: "
                    'put a cell that holds a comma in double quotes ("like, this")'
                )
            if any(cell.strip() for cell in cells):
                _item(source, start, dict(zip(header, cells, strict=False)), out)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UsageError(f"{source}:{reader.line_num}: not valid CSV: {exc}") from None
    return out


def read_jsonl(source: Path, content: str) -> Read:
    """One JSON object a line, with the fields a CSV file has as columns."""
    out = Read()
    for number, line in enumerate(content.removeprefix("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        row = _decoded(source, number, partial(json.loads, line))
        _item(source, number, _object(source, number, row), out)
    return out


def _decoded(source: Path, line: int, decode: Callable[[], Any]) -> Any:
    """What `decode` returns, its JSON errors one line naming the file and line."""
    try:
        return decode()
    except ValueError as exc:
        raise UsageError(f"{source}:{line}: not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{source}:{line}: not valid JSON: nested too deeply") from None


def _object(source: Path, line: int, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise UsageError(f"{source}:{line}: expected an object with 'question' and 'reference'")
    return row


def read_json_list(source: Path, content: str) -> Read:
    """A JSON list of objects with the fields of a JSONL line; each is numbered by the line it
    starts on."""
    decoder = json.JSONDecoder()
    out = Read()
    position = content.index("[") + 1
    expect_item = True
    while True:
        position = len(content) - len(content[position:].lstrip())
        line = content.count("\n", 0, position) + 1
        if position >= len(content):
            raise UsageError(f"{source}:{line}: not valid JSON: the list is not closed with ']'")
        if content[position] == "]":  # a trailing comma before it is forgiven
            break
        if not expect_item:
            if content[position] != ",":
                raise UsageError(f"{source}:{line}: not valid JSON: expected ',' or ']'")
            position += 1
            expect_item = True
            continue
        row, position = _decoded(source, line, partial(decoder.raw_decode, content, position))
        _item(source, line, _object(source, line, row), out)
        expect_item = False
    if content[position + 1 :].strip():
        line = content.count("\n", 0, position) + 1
        raise UsageError(f"{source}:{line}: not valid JSON: text after the list's ']'")
    return out


# --- text and Markdown ----------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_MARKER = re.compile(r"^(?:\d+[.)]|[-*+•])\s+")  # a list item's number or bullet
_QUESTION_LABEL = re.compile(r"^(?:q|question)\s*\d*\s*[:.)]\s*", re.IGNORECASE)
_ANSWER_LABEL = re.compile(r"^(?:a|answer)\s*[:.)]\s*", re.IGNORECASE)
_EMPHASIS = re.compile(r"^(\*\*|__)(.+?)\1\s*")  # **What is X?** on its own or before its answer
_FENCE = re.compile(r"^(```|~~~)")
# Questions that do not end with "?": "Explain gradient descent." A single short sentence.
_ASKING_VERBS = frozenset(
    """explain describe compare contrast define discuss outline summarize summarise derive justify
    illustrate distinguish differentiate name list give walk""".split()
)
MAX_QUESTION_WORDS = 40
MAX_HEADING_WORDS = 6


def _is_question(line: str) -> bool:
    words = line.split()
    if not words or len(words) > MAX_QUESTION_WORDS:
        return False
    if line.endswith("?"):
        return True
    single_sentence = not re.search(r"[.!?]\s", line)
    return words[0].lower().strip("*_") in _ASKING_VERBS and single_sentence


def _is_topic(line: str) -> bool:
    """A short line that ends without punctuation: "Evaluation & Metrics"."""
    return len(line.split()) <= MAX_HEADING_WORDS and not re.search(r"[.?!:;,]$", line)


def _split_inline(line: str) -> tuple[str, str]:
    """A question and the answer on the same line ("What is X? It is Y."), or the line and ""."""
    emphasis = _EMPHASIS.match(line)
    if emphasis:
        return emphasis.group(2).strip(), _ANSWER_LABEL.sub("", line[emphasis.end() :]).strip()
    at = line.find("?")
    if at == -1:
        return line, ""
    return line[: at + 1], _ANSWER_LABEL.sub("", line[at + 1 :].strip()).strip()


@dataclass
class _Draft:
    line: int
    prompt: str
    topic: str | None
    parts: list[str] = field(default_factory=list)
    after_blank: bool = False

    def add(self, line: str, *, bullet: bool) -> None:
        if self.parts:
            self.parts.append("\n\n" if self.after_blank else "\n" if bullet else " ")
        self.parts.append(line)
        self.after_blank = False

    @property
    def answered(self) -> bool:
        return bool(self.parts)


class _DocumentReader:
    """Reads lines into questions: headings set the topic, a question takes the lines after it."""

    def __init__(self, source: Path):
        self.source = source
        self.out = Read()
        self.topic: str | None = None
        self.draft: _Draft | None = None
        self.stray = False  # within a run of text that belongs to no question, already reported

    def finish(self) -> None:
        self.stray = False
        if self.draft is not None:
            if self.draft.answered:
                text = "".join(self.draft.parts).strip()
                self.out.items.append(
                    Item(self.source, self.draft.line, self.draft.prompt, text, self.draft.topic)
                )
            else:
                self.out.skipped.append(Skipped(self.source, self.draft.line, "a question with no answer"))
        self.draft = None

    def question(self, number: int, prompt: str, answer: str = "") -> None:
        self.finish()
        self.draft = _Draft(number, prompt, self.topic)
        if answer:
            self.draft.add(answer, bullet=False)

    def answer(self, number: int, line: str, *, bullet: bool = False) -> None:
        if self.draft is None:
            if not self.stray:
                self.stray = True
                self.out.skipped.append(Skipped(self.source, number, "text outside any question"))
            return
        self.draft.add(line, bullet=bullet)

    def heading(self, title: str) -> None:
        self.finish()
        self.topic = title

    def blank(self) -> None:
        if self.draft is not None:
            self.draft.after_blank = True

    def line(self, number: int, raw: str) -> None:
        line = raw.strip()
        if not line:
            self.blank()
            return
        heading = _HEADING.match(line)
        if heading:
            title = heading.group(2).strip("*_ ")
            if _is_question(title):
                self.question(number, title)
            else:
                self.heading(title)
            return
        if _QUESTION_LABEL.match(line):
            self.question(number, *_split_inline(_QUESTION_LABEL.sub("", line)))
            return
        if _ANSWER_LABEL.match(line) and self.draft is not None and not self.draft.answered:
            self.answer(number, _ANSWER_LABEL.sub("", line))
            return
        awaiting = self.draft is not None and not self.draft.answered
        marker = _MARKER.match(line)
        body = line[marker.end() :] if marker else line
        if awaiting:
            self.answer(number, line, bullet=bool(marker))  # a question's first line after it is its answer
        elif _is_question(body) or (_EMPHASIS.match(body) and "?" in body):
            self.question(number, *_split_inline(body))
        elif not marker and _is_topic(line) and not raw[:1].isspace():
            self.heading(line)
        else:
            self.answer(number, line, bullet=bool(marker))


def read_document(source: Path, content: str) -> Read:
    """Text or Markdown: topic headings, then questions each followed by its answer."""
    reader = _DocumentReader(source)
    fenced = False
    for number, raw in enumerate(content.removeprefix("\ufeff").splitlines(), start=1):
        if _FENCE.match(raw.strip()):
            fenced = not fenced
            reader.answer(number, raw.rstrip(), bullet=True)
        elif fenced:
            reader.answer(number, raw.rstrip(), bullet=True)
        else:
            reader.line(number, raw)
    reader.finish()
    return reader.out


# --- from items to bank questions -----------------------------------------------------------------

# Words that name no subject of a question, left out of its id: "What's the learning rate?" is
# `learning-rate`.
_ID_STOP_WORDS = frozenset(
    """a an the of to in on at by for from with as is are was were be it its this that these those
    what whats which who why how when where do does did can could should would will you your we our i
    my me and or vs versus between difference explain describe compare define give name list discuss
    tell about s""".split()
)
ID_WORDS = 5
DEFAULT_TOPIC = "imported"


def _id_words(text: str) -> list[str]:
    """The lower-case ASCII words of `text`, accents taken off ("Régularisation" -> regularisation);
    a letter with no ASCII form (ß, ø, 中) is left out."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9]+", re.sub(r"['’]", "", bare.lower()))  # "what's", "what’s": whats


def slug(text: str, limit: int | None = None) -> str:
    """Lower-case words joined by hyphens, at most `limit` of them: "Evaluation & Metrics" -> evaluation-metrics."""
    words = _id_words(text)
    return "-".join(words[:limit] if limit else words)


def question_slug(prompt: str) -> str:
    words = [w for w in _id_words(prompt) if w not in _ID_STOP_WORDS]
    return "-".join(words[:ID_WORDS]) or "question"


def _topic_of_id(question_id: str | None) -> str | None:
    return question_id.split("/")[0] if question_id and "/" in question_id else None


@dataclass
class Plan:
    """What an import will write: bank questions as data, by topic, and what it skipped."""

    questions: dict[str, list[dict]] = field(default_factory=dict)  # topic -> questions
    titles: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(qs) for qs in self.questions.values())


class _Ids:
    """Ids for new questions: `topic/slug`, never one already taken (in the bank or this import)."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)

    def claim(self, item: Item, topic: str) -> str:
        if item.id:
            wanted = item.id if "/" in item.id else f"{topic}/{item.id}"
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*", wanted):
                raise UsageError(
                    f"{item.source}:{item.line}: id {item.id!r} is not lower-case words and hyphens"
                )
            if wanted.split("/")[0] != topic:
                raise UsageError(
                    f"{item.source}:{item.line}: id {wanted!r} must start with its topic {topic!r}/"
                )
            if wanted in self.taken:
                raise UsageError(f"{item.source}:{item.line}: id {wanted!r} is already in the bank")
            self.taken.add(wanted)
            return wanted
        base = f"{topic}/{question_slug(item.prompt)}"
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}-{n}"
        self.taken.add(candidate)
        return candidate


def plan(reads: list[Read], *, taken: set[str], topic: str | None = None) -> Plan:
    """Turn what was read into valid bank questions with stable ids; skip what cannot be one."""
    from pydantic import ValidationError

    from interviewer.bank import Question

    out = Plan(skipped=[s for r in reads for s in r.skipped])
    ids = _Ids(taken)
    seen: dict[str, Item] = {}
    for item in (i for r in reads for i in r.items):
        # The same prompt may ask different things in different places ("Explain your reasoning."):
        # only a repeated question with the same answer is a duplicate.
        same = seen.setdefault(" ".join(f"{item.prompt}\n{item.reference}".lower().split()), item)
        if same is not item:
            out.skipped.append(
                Skipped(item.source, item.line, f"the same question and answer as {same.source}:{same.line}")
            )
            continue
        named = topic or item.topic or _topic_of_id(item.id) or item.source.stem
        topic_id = slug(named) or DEFAULT_TOPIC
        data = {"difficulty": item.difficulty or "medium", "prompt": item.prompt, "reference": item.reference}
        try:  # as the bank will load it, key points derived: a question that cannot be graded is skipped
            Question.model_validate({"id": f"{topic_id}/new", "topic": topic_id, **data})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            reason = str(error["msg"]).removeprefix("Value error, ")
            out.skipped.append(Skipped(item.source, item.line, f"{where}: {reason}" if where else reason))
            continue
        out.questions.setdefault(topic_id, []).append({"id": ids.claim(item, topic_id), **data})
        out.titles.setdefault(topic_id, named)
    return out


HEADER = """Imported by `interviewer bank import` from {sources}.
Key points are derived from each reference as the bank loads (`interviewer bank show ID` shows
them, marked as derived); write your own [[questions.key_points]] to grade more precisely."""


def files(result: Plan, output: Path | None, folder: Path, sources: list[Path]) -> dict[Path, str]:
    """The bank files to write: all in `output`, else one per topic in `folder`, named by the topic."""
    from interviewer import bank_toml

    comment = HEADER.format(sources=", ".join(p.name for p in sources))
    if output is not None:
        first = next(iter(result.questions))
        everything = [
            {**q, "topic": topic} if topic != first else q
            for topic, qs in result.questions.items()
            for q in qs
        ]
        title = result.titles[first] if len(result.questions) == 1 else None
        return {output: bank_toml.render(first, everything, title, comment)}
    return {
        folder / f"{topic}.toml": bank_toml.render(topic, qs, result.titles[topic], comment)
        for topic, qs in result.questions.items()
    }


def taken_ids(bank: Bank, output: Path | None, folder: Path) -> set[str]:
    """The bank's ids an import must not reuse: all but those of the files it will replace."""

    def replaced(question_id: str) -> bool:
        source = bank.sources.get(question_id)
        target = output or folder / f"{question_id.split('/')[0]}.toml"
        return source is not None and source.resolve() == target.resolve()

    return {q.id for q in bank.questions if not replaced(q.id)}
