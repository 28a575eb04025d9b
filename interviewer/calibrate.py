"""Measure a grader against labelled answers: how far its scores agree with an interviewer's.

A labelled set is a file of answers, each with the question it answers, the score an interviewer
gave it and optionally its kind (strong, wrong, keywords, ...). The package ships sets in TOML
(`resources.calibration_dir()`); a user may bring CSV, JSONL or TOML. `load_sets` reads and checks
them, every problem a line naming the file and line, before anything is graded; `run` grades each
answer (`repeat` times) and returns a `Calibration`: the figures against the labels, per set and
all together, and a plain verdict.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import io
import json
import math
import multiprocessing
import os
import queue
import re
import signal
import statistics
import threading
import time
import tomllib
import unicodedata
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from interviewer import config, resources
from interviewer.bank import Bank, Question
from interviewer.errors import UsageError
from interviewer.grading import Grader
from interviewer.grading.model import Grade, Usage
from interviewer.grading.offline import OfflineGrader
from interviewer.inputs import MAX_ANSWER_CHARS, toml_too_complex
from interviewer.session import MAX_CONCURRENT_GRADES, grade_safely

# --- kinds of answers ---------------------------------------------------------------------------
# A labelled answer's kind says what it is meant to test. Sets may use any kind; these are the ones
# the figures single out, and any other kind (mid, partial, weak, wrong, or a user's own) is counted
# only in the overall agreement.

# Correct answers: a grader that reports an error in one of them tells a candidate something false.
CORRECT_KINDS = frozenset({"strong", "good", "reference", "textbook", "correct"})
# Answers built to game a grader (terms without substance, right words saying the wrong thing, the
# question echoed, nothing, something else): each should score at most ADVERSARIAL_MAX.
ADVERSARIAL_KINDS = frozenset({"keywords", "glued", "swapped", "negation", "echo", "empty", "off-topic"})
ADVERSARIAL_MAX = 2.0

SCALE = 10.0  # the labels' scale inside the tool, as a grade's
MAX_PROBLEMS = 20  # lines of problems shown before "... and N more"


# --- agreement measures ---------------------------------------------------------------------------
# Each takes two equally long sequences of numbers; None where the measure is undefined (too few
# values, or one side constant), never a made-up number.


def _check_pair(x: Sequence[float], y: Sequence[float]) -> None:
    if len(x) != len(y):
        raise ValueError(f"sequences of different lengths: {len(x)} and {len(y)}")


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's correlation coefficient."""
    _check_pair(x, y)
    if len(x) < 2:
        return None
    mx, my = math.fsum(x) / len(x), math.fsum(y) / len(y)
    dx, dy = [a - mx for a in x], [b - my for b in y]
    sxx, syy = math.fsum(a * a for a in dx), math.fsum(b * b for b in dy)
    if sxx == 0 or syy == 0:
        return None
    r = math.fsum(a * b for a, b in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            out[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation, ties given their mean rank."""
    _check_pair(x, y)
    return pearson(ranks(x), ranks(y))


def band(score: float) -> int:
    """A 0-10 score rounded half up to a whole point (7.5 -> 8), for the kappa."""
    return int(math.floor(score + 0.5))


def quadratic_kappa(x: Sequence[int], y: Sequence[int], categories: int = 11) -> float | None:
    """Cohen's kappa with quadratic weights, for whole-number ratings 0..categories-1."""
    _check_pair(x, y)
    for value in (*x, *y):
        if value != int(value) or not 0 <= value < categories:
            raise ValueError(f"rating {value!r} is not a whole number in 0..{categories - 1}")
    n = len(x)
    if n == 0:
        return None
    observed = Counter(zip((int(a) for a in x), (int(b) for b in y), strict=True))
    hist_x, hist_y = Counter(int(a) for a in x), Counter(int(b) for b in y)

    def weight(i: int, j: int) -> float:
        return (i - j) ** 2 / (categories - 1) ** 2

    disagreement = math.fsum(weight(i, j) * count for (i, j), count in observed.items())
    expected = math.fsum(weight(i, j) * hist_x[i] * hist_y[j] / n for i in hist_x for j in hist_y)
    return None if expected == 0 else 1 - disagreement / expected


def mean_absolute_error(x: Sequence[float], y: Sequence[float]) -> float | None:
    _check_pair(x, y)
    return math.fsum(abs(a - b) for a, b in zip(x, y, strict=True)) / len(x) if x else None


def share_within(x: Sequence[float], y: Sequence[float], tolerance: float = 1.0) -> float | None:
    """The share of pairs at most `tolerance` apart (a rescaled label may carry float dust)."""
    _check_pair(x, y)
    if not x:
        return None
    return sum(abs(a - b) <= tolerance + 1e-9 for a, b in zip(x, y, strict=True)) / len(x)


# --- the verdict ------------------------------------------------------------------------------------
# Thresholds, strictest level first; a grader gets the first level all of whose figures it reaches.
# Quadratic-weighted kappa is the usual measure of agreement between raters on an ordinal scale. In
# automated essay scoring an automated rater is accepted against humans at kappa >= 0.70 (Williamson,
# Xi & Breyer 2012); kappa above 0.80 is "almost perfect" agreement on Landis & Koch's scale. Spearman asks for the same ranking. Within +-1
# point is what a candidate feels: a grader that ranks well but is often 2+ points off is good for
# comparing answers, not for reading one score. Failed gradings count against a grader however well
# it agrees when it answers.


@dataclass(frozen=True)
class Level:
    key: str
    text: str
    kappa: float
    spearman: float
    within_one: float
    failed: float  # the largest share of failed gradings allowed


LEVELS = (
    Level(
        "second-interviewer", "agrees with the labels like a second interviewer would", 0.80, 0.80, 0.70, 0.01
    ),
    Level(
        "ranks-well",
        "ranks answers as the labels do, but single scores are often 2 points or more off: "
        "use it to compare answers, not to read one score as exact",
        0.70,
        0.70,
        0.50,
        0.05,
    ),
    Level(
        "rough", "a rough guide: it tells strong answers from weak ones, little more", 0.50, 0.50, 0.0, 0.10
    ),
)
UNRELIABLE = "do not rely on it"
MIN_ANSWERS = 20  # below this, chance alone moves the figures across levels


@dataclass(frozen=True)
class Verdict:
    level: str  # a Level's key, "unreliable", or "too-few"
    text: str
    caveats: tuple[str, ...] = ()


# --- labelled answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Labelled:
    """One labelled answer."""

    id: str  # set and line ("answers.toml:27"), or set and position where no line is known
    set: str
    line: int | None
    question: Question
    kind: str  # lower case; "" when the set gives none
    expected: float  # the label, on 0-10
    text: str


@dataclass(frozen=True)
class LabelledSet:
    name: str  # a shipped set's file name, or the path as the user gave it
    path: Path
    answers: tuple[Labelled, ...]


def shipped_sets() -> list[Path]:
    """Every set shipped in the package, in name order: new files count without code changes."""
    return sorted(p for p in resources.calibration_dir().glob("*.toml") if p.is_file())


def find_set(path: Path) -> Path:
    """The file, or the shipped set of that name ("unseen" or "unseen.toml") when no such file exists."""
    if path.exists() or len(path.parts) != 1:
        return path
    for candidate in (path.name, f"{path.name}.toml"):
        shipped = resources.calibration_dir() / candidate
        if shipped.is_file():
            return shipped
    return path


def _printable(name: str) -> str:
    """A path as text: a file name's bytes that are not UTF-8 (surrogates here) would stop the
    report from being printed or written as JSON."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


class _Questions:
    """Questions found by id, or by prompt text with case, spacing and punctuation aside."""

    def __init__(self, bank: Bank):
        self.bank = bank
        self.by_id = {q.id: q for q in bank.questions}
        self.by_prompt: dict[str, list[Question]] = {}
        for q in bank.questions:
            self.by_prompt.setdefault(_normalise(q.prompt), []).append(q)

    def find(self, ref: str, *, hint: bool = True) -> Question | str:
        """The question, or why there is none (with the ids it is close to when `hint`: finding them
        takes a millisecond, too long to spend on each of half a million rows that are not shown)."""
        ref = ref.strip()
        if ref in self.by_id:
            return self.by_id[ref]
        matches = self.by_prompt.get(_normalise(ref), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            return (
                f"question {_short(ref)} matches the prompts of {', '.join(q.id for q in matches)}: use an id"
            )
        import difflib

        close = difflib.get_close_matches(ref, list(self.by_id), n=2, cutoff=0.8) if hint else []
        guess = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"unknown question {_short(ref)}: neither a bank id nor a prompt{guess}; `interviewer bank list` shows them"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@dataclass
class _Raw:
    """A row as read from a file, before it is checked."""

    where: str  # "FILE:LINE" or "FILE: answers[N]"
    line: int | None
    fields: dict[str, Any]


class _Problems(list[str]):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


MAX_SET_BYTES = 50_000_000  # a thousand answers of the longest length; /dev/zero is not a set


def _read_text(path: Path, name: str, problems: _Problems) -> str | None:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_SET_BYTES + 1)
    except FileNotFoundError:
        problems.add(name, "no such file")
        return None
    except IsADirectoryError:
        problems.add(name, "is a folder, not a file")
        return None
    except OSError as exc:
        problems.add(name, f"cannot read: {exc.strerror or exc}")
        return None
    if len(data) > MAX_SET_BYTES:
        problems.add(name, f"larger than {MAX_SET_BYTES:,} bytes")
        return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" in data[:4]:
        # What Excel's "Unicode text" and PowerShell's redirection write. Its ASCII has a NUL byte
        # after (or before) each letter: read as UTF-8, the header's names would not be found.
        problems.add(name, 'UTF-16 text, not UTF-8: save it as UTF-8 ("CSV UTF-8" in a spreadsheet)')
        return None
    try:
        return data.decode("utf-8-sig")  # a byte-order mark is how spreadsheet programs say UTF-8
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.add(f"{name}:{line}", f"not UTF-8 text (byte {exc.start})")
        return None


def _csv_rows(text: str, name: str, problems: _Problems) -> Iterator[_Raw]:
    reader = csv.reader(io.StringIO(text, newline=""))
    last = 0  # the line the previous record ended on
    header: list[str] | None = None
    try:
        for record in reader:
            line, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                twice = [c for c, n in Counter(header).items() if n > 1 and c]
                if twice:
                    problems.add(f"{name}:{line}", f"the header names {', '.join(twice)} more than once")
                    return
                missing = [c for c in ("question", "answer", "score") if c not in header]
                if "answer" in missing and "text" in header:
                    missing.remove("answer")
                if missing:
                    problems.add(
                        f"{name}:{line}",
                        f"the header must name the columns question, answer and score (and may name kind); "
                        f"missing: {', '.join(missing)}",
                    )
                    return
                continue
            if len(record) != len(header):
                problems.add(
                    f"{name}:{line}",
                    f"{len(record)} fields where the header has {len(header)} "
                    "(put an answer holding commas or line breaks in double quotes)",
                )
                continue
            yield _Raw(f"{name}:{line}", line, dict(zip(header, record, strict=True)))
    except csv.Error as exc:
        problems.add(f"{name}:{reader.line_num}", f"not valid CSV: {exc}")
        return
    if header is None:
        problems.add(name, "empty: a CSV set needs a header line (question,answer,score,kind) and rows")


def _jsonl_rows(text: str, name: str, problems: _Problems) -> Iterator[_Raw]:
    # Split on newlines only: a JSON string may hold U+2028, which str.splitlines would cut at.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(where, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            problems.add(where, "not valid JSON: nested too deeply")
            continue
        except ValueError as exc:  # a number of more than 4,300 digits
            problems.add(where, f"not valid JSON: {str(exc).split(';')[0]}")
            continue
        if not isinstance(record, dict):
            problems.add(where, f"a JSON object is needed, not {type(record).__name__}")
            continue
        yield _Raw(where, number, record)


_TOML_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*answers[ \t]*\]\]", re.M)
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse_toml(text: str, name: str) -> dict[str, Any]:
    """tomllib.loads, kept in the cache folder as JSON, one file per set's name, for as long as the
    text stays the same: parsing the shipped sets took 0.15 s of each run of `calibrate`, reading
    them back 0.01 s. Any problem with the cache only means it is not used."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    cached = config.cache_dir() / "calibration" / f"{hashlib.sha256(name.encode()).hexdigest()[:24]}.json"
    try:
        entry = json.loads(cached.read_text(encoding="utf-8"))
        if entry["text"] == digest and isinstance(entry["data"], dict):
            return entry["data"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    data = tomllib.loads(text)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"text": digest, "data": data}, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, cached)  # atomically: several runs may
    except (OSError, TypeError, ValueError):  # TypeError: a date or a time, which JSON has not
        pass
    return data


def _toml_rows(text: str, name: str, problems: _Problems) -> Iterator[_Raw]:
    too_complex = toml_too_complex(text)
    if too_complex:
        problems.add(name, too_complex)
        return
    try:
        data = _parse_toml(text, name)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_AT.search(message)
        where = f"{name}:{at.group(1)}" if at else name
        problems.add(where, f"not valid TOML: {_TOML_AT.sub('', message).strip()}")
        return
    entries = data.get("answers")
    if not isinstance(entries, list) or not entries:
        problems.add(name, "no [[answers]] tables (each holds question, kind, score and text)")
        return
    # tomllib keeps no positions: the n-th `[[answers]]` line starts the n-th entry.
    lines: list[int] = []
    counted = 0
    for m in _TOML_HEADER.finditer(text):
        lines.append((lines[-1] if lines else 1) + text.count("\n", counted, m.start()))
        counted = m.start()
    if len(lines) != len(entries):
        lines = []
    for index, entry in enumerate(entries):
        line = lines[index] if lines else None
        where = f"{name}:{line}" if line else f"{name}: answers[{index}]"
        if not isinstance(entry, dict):
            problems.add(where, "each entry of answers must be a table")
            continue
        yield _Raw(where, line, entry)


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            return None
    elif isinstance(value, str):
        if "_" in value:  # float() reads "1_0" as 10: no one writes a score so
            return None
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _check(
    raw: _Raw, name: str, index: int, questions: _Questions, scale: float, problems: _Problems
) -> Labelled | None:
    fields = {str(k).strip().lower(): v for k, v in raw.fields.items()}
    if "answer" not in fields and "text" in fields:
        fields["answer"] = fields["text"]
    missing = [f for f in ("question", "answer", "score") if fields.get(f) is None]
    if missing:
        problems.add(raw.where, f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        return None
    question_ref, text, kind = fields["question"], fields["answer"], fields.get("kind") or ""
    for field, value in (("question", question_ref), ("answer", text), ("kind", kind)):
        if not isinstance(value, str):
            problems.add(raw.where, f"{field} must be text, not {type(value).__name__}")
            return None
        surrogate = _SURROGATE.search(value)
        if surrogate:  # a JSON escape such as \ud800 alone: no API can be sent it
            problems.add(
                raw.where,
                f"the {field} holds \\u{ord(surrogate.group()):04x}, half of a UTF-16 pair and not a "
                "character: write the character itself",
            )
            return None
    score = _score(fields["score"])
    if score is None:
        problems.add(raw.where, f"score {_short(str(fields['score']))} is not a number")
        return None
    if not 0 <= score <= scale:
        hint = " (--scale gives the top of your range)" if score > scale else ""
        problems.add(raw.where, f"score {score:g} is outside 0..{scale:g}{hint}")
        return None
    kind = kind.strip().lower()
    if not text.strip() and kind != "empty":
        problems.add(
            raw.where, "empty answer (to measure how empty answers are graded, give it the kind empty)"
        )
        return None
    if len(text) > MAX_ANSWER_CHARS:
        problems.add(raw.where, f"the answer has {len(text):,} characters; at most {MAX_ANSWER_CHARS:,}")
        return None
    question = (
        questions.find(question_ref, hint=len(problems) < MAX_PROBLEMS)
        if question_ref.strip()
        else "missing field question"
    )
    if isinstance(question, str):
        problems.add(raw.where, question)
        return None
    return Labelled(
        id=f"{name}:{raw.line}" if raw.line else f"{name}#{index + 1}",
        set=name,
        line=raw.line,
        question=question,
        kind=kind,
        expected=_rescaled(score, scale),
        text=text,
    )


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _rescaled(score: float, scale: float) -> float:
    """A score of 0..scale on 0..10: multiplied first (exact for the usual scales), divided first
    where that would overflow (--scale 1e308)."""
    rescaled = score * SCALE / scale
    return rescaled if math.isfinite(rescaled) else score / scale * SCALE


_READERS = {".csv": _csv_rows, ".jsonl": _jsonl_rows, ".ndjson": _jsonl_rows, ".toml": _toml_rows}


def _reader(path: Path, text: str) -> Callable[[str, str, _Problems], Iterable[_Raw]]:
    known = _READERS.get(path.suffix.lower())
    if known:
        return known
    return _jsonl_rows if text.lstrip().startswith("{") else _csv_rows  # a .txt or no extension


def load_sets(paths: Sequence[Path] | None, bank: Bank, *, scale: float = SCALE) -> list[LabelledSet]:
    """The sets to calibrate against: the given files, or every shipped set.

    Raises `UsageError` with one line per problem (file and line first) before anything is graded.
    """
    if not math.isfinite(scale) or scale <= 0:
        raise UsageError(
            f"--scale {scale:g}: give the top of your scores' range, a positive number (e.g. 5 or 100)"
        )
    if not paths:
        if scale != SCALE:
            raise UsageError(
                "--scale applies to your own sets (--set FILE); the shipped sets are scored 0-10"
            )
        files = [(p.name, p) for p in shipped_sets()]
        if not files:
            raise UsageError(f"no labelled sets in {resources.calibration_dir()}: pass --set FILE")
    else:
        found = [(p, find_set(p)) for p in dict.fromkeys(paths)]
        # A shipped set picked by name keeps its file name, so its answers' ids match the default run's;
        # unless a file of yours has that name too (the figures are per name), then it has its path.
        files = []
        for p, f in found:
            name = _printable(str(p) if p == f else f.name)
            if name in (n for n, _ in files):
                name = _printable(str(f.absolute()))
            files.append((name, f))
    questions = _Questions(bank)
    problems = _Problems()
    loaded = []
    for name, path in files:
        before = len(problems)
        text = _read_text(path, name, problems)
        if text is None:
            continue
        answers: list[Labelled] = []
        for raw in _reader(path, text)(text, name, problems):
            item = _check(raw, name, len(answers), questions, scale, problems)
            if item is not None:
                answers.append(item)
        if not answers and len(problems) == before:
            problems.add(name, "no labelled answers in it")
        loaded.append(LabelledSet(name, path, tuple(answers)))
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        raise UsageError("\n".join(shown))
    return loaded


# --- grading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    run: int
    index: int
    question: Question
    text: str


def _inline(grader: Grader, jobs: Sequence[_Job]) -> Generator[tuple[_Job, Grade]]:
    for job in jobs:
        yield job, grade_safely(grader, job.question, job.text)


def _in_threads(grader: Grader, jobs: Sequence[_Job], workers: int) -> Generator[tuple[_Job, Grade]]:
    """Grade on at most `workers` threads, yielding grades as they come.

    The threads are daemons: after Ctrl-C the figures are printed at once and the process exits,
    instead of waiting for the requests in flight (up to a timeout each).
    """
    pending: queue.SimpleQueue[_Job] = queue.SimpleQueue()
    for job in jobs:
        pending.put(job)
    done: queue.SimpleQueue[tuple[_Job, Grade]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                job = pending.get_nowait()
            except queue.Empty:
                return
            try:
                grade = grade_safely(grader, job.question, job.text)
            except BaseException as exc:  # a worker that dies without a result would hang the wait
                grade = Grade.failed(grader.name, f"{type(exc).__name__}: {exc}".splitlines()[0])
            done.put((job, grade))

    for number in range(min(workers, len(jobs))):
        threading.Thread(target=work, name=f"calibrate-{number}", daemon=True).start()
    try:
        for _ in jobs:
            yield done.get()
    finally:
        stop.set()


# Offline grading of this many answers or more is spread over this process and one more per other
# core: the grader is pure Python, and starting a process costs what it grades in half a second.
PROCESS_POOL_MIN_JOBS = 1000
_CHUNK = 64  # answers per task sent to a process: progress moves in steps this big


def _other_cores() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


def start_processes() -> ProcessPoolExecutor:
    """Grading processes for `run`, one per other core, started now.

    A process takes ~0.3 s to start (it imports the grader): started before the sets are read, it
    is ready when grading begins. The caller shuts it down (`shutdown(wait=False,
    cancel_futures=True)`: a process in the middle of a chunk finishes it and exits).
    """
    context = multiprocessing.get_context("spawn")  # not forked: the parent may run a progress thread
    # Born ignoring Ctrl-C (an ignored signal stays ignored across exec, and Python keeps it so): a
    # Ctrl-C while a process imports the grader printed its traceback. The parent handles Ctrl-C.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        pool = ProcessPoolExecutor(_other_cores(), mp_context=context, initializer=_start_process)
        for _ in range(_other_cores()):
            pool.submit(int)  # spawned on demand, one per task while none is idle: start them all now
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return pool


def processes_ahead(grader: Grader, *, shipped: bool) -> ProcessPoolExecutor | None:
    """The grading processes to start before the sets are read: for the offline grader over the
    shipped sets (thousands of answers; a user's set may be a handful), on more than one core."""
    if shipped and isinstance(grader, OfflineGrader) and (os.cpu_count() or 1) > 1:
        return start_processes()
    return None


def _start_process() -> None:
    """In a grading process: Ctrl-C is the parent's to handle (it prints the figures so far). At its
    end the process leaves at once: it has nothing to flush, and tearing down its caches made the
    parent wait ~0.1 s to join it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit.register(os._exit, 0)
    threading.Thread(target=_exit_with, args=(os.getppid(),), name="exit-with-parent", daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this grading process when its parent is gone (SIGTERM, SIGKILL). Left alone it would
    grade on, then wait forever to send a chunk's grades into a pipe that no one reads."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _grade_offline(chunk: list[tuple[str, str]], questions: dict[str, Question]) -> list[Grade]:
    """Grade (question id, answer) pairs of these questions."""
    grader = OfflineGrader()
    return [grade_safely(grader, questions[qid], text) for qid, text in chunk]


def _in_processes(jobs: Sequence[_Job], pool: ProcessPoolExecutor) -> Generator[tuple[_Job, Grade]]:
    """Grade offline here and in the pool's processes, yielding grades a chunk at a time.

    This process grades chunks too, from the first moment, so it never waits for a process. A
    question's answers go together: a chunk carries the few questions it needs, and a process
    compiles the terms of fewer questions. After Ctrl-C (the processes ignore it) the chunks not
    started are cancelled and those in flight are left to finish. A chunk whose process could not
    start or died is graded here instead.
    """
    by_question = sorted(jobs, key=lambda job: job.question.id)
    pending = deque(by_question[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK))
    running: dict[Future[list[Grade]], list[_Job]] = {}

    def work(chunk: list[_Job]) -> tuple[list[tuple[str, str]], dict[str, Question]]:
        return [(job.question.id, job.text) for job in chunk], {
            job.question.id: job.question for job in chunk
        }

    while pending or running:
        # Four chunks queued per process keep it busy while this one grades its own.
        while pending and len(running) < 4 * _other_cores():
            chunk = pending.popleft()
            running[pool.submit(_grade_offline, *work(chunk))] = chunk
        for future in [f for f in running if f.done()]:
            sent = running.pop(future)
            try:
                grades = future.result()
            except BrokenProcessPool:
                grades = _grade_offline(*work(sent))
            yield from zip(sent, grades, strict=True)
        if pending:
            mine = pending.pop()  # from the other end: other questions than the processes'
            yield from zip(mine, _grade_offline(*work(mine)), strict=True)
        elif stolen := next((f for f in reversed(running) if f.cancel()), None):
            # A chunk queued for a process that has not started it: grading it here, rather than
            # waiting for the process to come to it, ends the run sooner.
            mine = running.pop(stolen)
            yield from zip(mine, _grade_offline(*work(mine)), strict=True)
        elif running:
            wait(running, return_when=FIRST_COMPLETED)


def grades_inline(grader: Grader) -> bool:
    """Whether to grade on the calling thread rather than a pool.

    The offline grader is pure Python: under the GIL threads cannot make it faster
    (benchmarks/calibrate_speed.py measures both), and inline it shares nothing between threads.
    An LLM grader waits on the network, where the pool pays.
    """
    return grader.name == "offline"


def run(
    sets: Sequence[LabelledSet],
    grader: Grader,
    *,
    repeat: int = 1,
    workers: int = MAX_CONCURRENT_GRADES,
    inline: bool | None = None,
    processes: bool | None = None,
    pool: ProcessPoolExecutor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Calibration:
    """Grade every answer `repeat` times and measure the grades against the labels: on this thread,
    on a pool of `workers` threads (an LLM), or, for many offline gradings, here and on one process
    per other core (those of `pool`, from start_processes, if given).

    Ctrl-C stops grading; the result then holds the figures for what was graded, marked interrupted.
    """
    if repeat < 1:
        raise UsageError("--repeat must be at least 1")
    answers = [a for s in sets for a in s.answers]
    jobs = [_Job(r, i, a.question, a.text) for r in range(repeat) for i, a in enumerate(answers)]
    grades: list[list[Grade | None]] = [[None] * repeat for _ in answers]
    use_inline = grades_inline(grader) if inline is None else inline
    cores = os.cpu_count() or 1
    if processes is None:
        # The processes grade with a fresh OfflineGrader of their own: only for that grader.
        processes = (
            use_inline
            and isinstance(grader, OfflineGrader)
            and len(jobs) >= PROCESS_POOL_MIN_JOBS
            and cores > 1
        )
    stream: Generator[tuple[_Job, Grade]]
    own_pool = None
    if processes:
        if pool is None:
            pool = own_pool = start_processes()
        stream = _in_processes(jobs, pool)
    elif use_inline:
        stream = _inline(grader, jobs)
    else:
        stream = _in_threads(grader, jobs, max(1, workers))
    interrupted, done = False, 0
    started = time.perf_counter()
    try:
        with closing(stream):
            if progress:
                progress(0, len(jobs))
            for job, grade in stream:
                grades[job.index][job.run] = grade
                done += 1
                if progress:
                    progress(done, len(jobs))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if own_pool:
            own_pool.shutdown(wait=False, cancel_futures=True)
    seconds = time.perf_counter() - started
    rows = tuple(Row(a, tuple(g)) for a, g in zip(answers, grades, strict=True))
    return Calibration.measure(grader.name, sets, rows, repeat, seconds, interrupted)


# --- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A labelled answer and its grade in each run (None where it was not graded: interrupted)."""

    answer: Labelled
    grades: tuple[Grade | None, ...]

    @property
    def grade(self) -> Grade | None:
        """The first run's grade: the figures against the labels are the first run's."""
        return self.grades[0]

    @property
    def status(self) -> str:
        return self.grade.status if self.grade else "not graded"

    @property
    def score(self) -> float | None:
        return self.grade.score if self.grade and self.grade.ok else None

    def to_json(self) -> dict[str, Any]:
        grade = self.grade
        data: dict[str, Any] = {
            "id": self.answer.id,
            "set": self.answer.set,
            "line": self.answer.line,
            "question": self.answer.question.id,
            "kind": self.answer.kind or None,
            "expected": round(self.answer.expected, 3),
            "score": self.score,
            "status": self.status,
            "failure": grade.failure if grade else None,
            "errors": [e.text for e in grade.errors] if grade and grade.ok else [],
        }
        if len(self.grades) > 1:
            data["scores"] = [g.score if g and g.ok else None for g in self.grades]
        return data


@dataclass(frozen=True)
class Figures:
    """How one set's (or all sets') first-run grades agree with the labels."""

    answers: int  # labelled answers
    graded: int  # of them graded: the n of every measure below
    failed: int
    pearson: float | None
    spearman: float | None
    kappa: float | None  # quadratic-weighted, on scores rounded to whole points
    mae: float | None
    within_one: float | None
    adversarial: int  # adversarial answers graded
    adversarial_max: float | None  # the highest score one of them got
    adversarial_over: tuple[str, ...]  # ids of those scored over ADVERSARIAL_MAX
    correct: int  # correct answers graded
    false_errors: tuple[str, ...]  # ids of correct answers given an error
    verdict: Verdict

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Figures:
        graded = [r for r in rows if r.score is not None]
        failed = sum(r.status == "failed" for r in rows)
        expected = [r.answer.expected for r in graded]
        scores = [r.score for r in graded if r.score is not None]
        adversarial = [r for r in graded if r.answer.kind in ADVERSARIAL_KINDS]
        correct = [r for r in graded if r.answer.kind in CORRECT_KINDS]
        kappa = quadratic_kappa([band(e) for e in expected], [band(s) for s in scores])
        rho = spearman(expected, scores)
        within = share_within(expected, scores)
        return cls(
            answers=len(rows),
            graded=len(graded),
            failed=failed,
            pearson=pearson(expected, scores),
            spearman=rho,
            kappa=kappa,
            mae=mean_absolute_error(expected, scores),
            within_one=within,
            adversarial=len(adversarial),
            adversarial_max=max((r.score for r in adversarial if r.score is not None), default=None),
            adversarial_over=tuple(
                r.answer.id for r in adversarial if r.score is not None and r.score > ADVERSARIAL_MAX
            ),
            correct=len(correct),
            false_errors=tuple(r.answer.id for r in correct if r.grade and r.grade.errors),
            verdict=judge(
                len(graded),
                failed,
                kappa,
                rho,
                within,
                same_score=len(set(scores)) == 1,
                same_label=len(set(expected)) == 1,
            ),
        )

    def to_json(self) -> dict[str, Any]:
        def number(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "answers": self.answers,
            "n": self.graded,
            "failed": self.failed,
            "pearson": number(self.pearson),
            "spearman": number(self.spearman),
            "kappa": number(self.kappa),
            "mae": number(self.mae),
            "within_one": number(self.within_one),
            "adversarial": {
                "answers": self.adversarial,
                "max_score": self.adversarial_max,
                "over_2": list(self.adversarial_over),
            },
            "false_errors": {"correct_answers": self.correct, "ids": list(self.false_errors)},
            "verdict": {"level": self.verdict.level, "text": self.verdict.text},
        }


def judge(
    graded: int,
    failed: int,
    kappa: float | None,
    rho: float | None,
    within: float | None,
    *,
    same_score: bool = False,
    same_label: bool = False,
) -> Verdict:
    """The plain verdict for figures, by the thresholds of LEVELS."""
    attempted = graded + failed
    if attempted == 0:
        return Verdict("too-few", "nothing was graded")
    failed_share = failed / attempted
    if failed_share > LEVELS[-1].failed:
        return Verdict("unreliable", f"{UNRELIABLE}: {failed} of {attempted} gradings failed")
    if graded < MIN_ANSWERS:
        return Verdict(
            "too-few", f"too few graded answers to judge ({graded}; at least {MIN_ANSWERS} are needed)"
        )
    if same_label:
        return Verdict("too-few", "every answer has the same label: there is no ranking to agree with")
    if same_score:
        return Verdict("unreliable", f"{UNRELIABLE}: it gives every answer the same score")
    for level in LEVELS:
        if (
            kappa is not None
            and rho is not None
            and within is not None
            and kappa >= level.kappa
            and rho >= level.spearman
            and within >= level.within_one
            and failed_share <= level.failed
        ):
            return Verdict(level.key, level.text)
    return Verdict("unreliable", f"{UNRELIABLE}: its scores follow the labels too loosely")


@dataclass(frozen=True)
class Agreement:
    """How far repeated runs give the same scores, over the answers graded in every run."""

    runs: int
    answers: int
    identical: float | None  # share of answers with the same score in every run
    mean_difference: float | None  # mean over answers of the mean |difference| between two runs
    largest: float | None

    @classmethod
    def of(cls, rows: Sequence[Row], runs: int) -> Agreement:
        scored = [
            [g.score for g in r.grades if g is not None and g.score is not None]
            for r in rows
            if all(g is not None and g.ok for g in r.grades)
        ]
        gaps = [[abs(a - b) for a, b in combinations(s, 2)] for s in scored]
        return cls(
            runs=runs,
            answers=len(scored),
            identical=sum(len(set(s)) == 1 for s in scored) / len(scored) if scored else None,
            mean_difference=statistics.fmean(statistics.fmean(g) for g in gaps) if gaps else None,
            largest=max((max(g) for g in gaps), default=None),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "answers": self.answers,
            "identical": None if self.identical is None else round(self.identical, 4),
            "mean_difference": None if self.mean_difference is None else round(self.mean_difference, 4),
            "largest_difference": self.largest,
        }


UNSTABLE_DIFFERENCE = 0.5  # mean points between runs above which scores are said to change


@dataclass(frozen=True)
class Calibration:
    grader: str
    sets: tuple[tuple[str, Figures], ...]
    overall: Figures
    rows: tuple[Row, ...]
    repeat: int
    agreement: Agreement | None  # with repeat > 1
    gradings: int  # planned: answers x runs
    done: int
    failed: int  # over every run
    failures: tuple[tuple[str, int], ...]  # reasons, most frequent first
    usage: Usage | None  # None for a grader that uses no tokens
    latency_ms: float | None  # median per grading
    seconds: float
    interrupted: bool
    verdict: Verdict  # the overall figures' verdict, with caveats

    @classmethod
    def measure(
        cls,
        grader: str,
        sets: Sequence[LabelledSet],
        rows: tuple[Row, ...],
        repeat: int,
        seconds: float,
        interrupted: bool,
    ) -> Calibration:
        by_set = tuple((s.name, Figures.of([r for r in rows if r.answer.set == s.name])) for s in sets)
        overall = Figures.of(rows)
        every = [g for r in rows for g in r.grades if g is not None]
        reasons = Counter(g.failure or "unknown reason" for g in every if not g.ok)
        usages = [g.usage for g in every if g.usage is not None]
        usage = (
            Usage(
                prompt_tokens=sum(u.prompt_tokens for u in usages),
                completion_tokens=sum(u.completion_tokens for u in usages),
                cached_tokens=sum(u.cached_tokens for u in usages),
            )
            if usages
            else None
        )
        latencies = [g.latency_ms for g in every if g.latency_ms is not None]
        agreement = Agreement.of(rows, repeat) if repeat > 1 else None
        return cls(
            grader=grader,
            sets=by_set,
            overall=overall,
            rows=rows,
            repeat=repeat,
            agreement=agreement,
            gradings=len(rows) * repeat,
            done=len(every),
            failed=sum(not g.ok for g in every),
            failures=tuple(reasons.most_common()),
            usage=usage,
            latency_ms=statistics.median(latencies) if latencies else None,
            seconds=seconds,
            interrupted=interrupted,
            verdict=_with_caveats(overall, agreement),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "grader": self.grader,
            "verdict": {
                "level": self.verdict.level,
                "text": self.verdict.text,
                "caveats": list(self.verdict.caveats),
            },
            "all": self.overall.to_json(),
            "sets": {name: figures.to_json() for name, figures in self.sets},
            "repeat": self.repeat,
            "agreement": self.agreement.to_json() if self.agreement else None,
            "gradings": {
                "planned": self.gradings,
                "done": self.done,
                "failed": self.failed,
                "failures": [{"reason": reason, "count": count} for reason, count in self.failures],
            },
            "tokens": self.usage.model_dump() if self.usage else None,
            "latency_ms_median": self.latency_ms,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "rows": [r.to_json() for r in self.rows],
        }


def _with_caveats(figures: Figures, agreement: Agreement | None) -> Verdict:
    """The overall verdict, with what the agreement figures do not show."""
    caveats = []
    if figures.adversarial_over:
        caveats.append(
            f"{len(figures.adversarial_over)} of {figures.adversarial} answers built to game a grader "
            f"scored over {ADVERSARIAL_MAX:g} (up to {figures.adversarial_max:g})"
        )
    if figures.false_errors:
        caveats.append(
            f"{len(figures.false_errors)} of {figures.correct} correct answers were told of an error"
        )
    if (
        agreement
        and agreement.mean_difference is not None
        and agreement.mean_difference > UNSTABLE_DIFFERENCE
    ):
        caveats.append(f"scores change between runs (by {agreement.mean_difference:.1f} points on average)")
    verdict = figures.verdict
    return Verdict(verdict.level, verdict.text, tuple(caveats))
