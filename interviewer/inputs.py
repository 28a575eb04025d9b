"""What a user hands the tool, read within bounds: answers from standard input or a file, and TOML
files (banks, the config file). An endless stream or a hostile file ends in a one-line error, not in
a hang, a MemoryError or a RecursionError."""

from __future__ import annotations

import codecs
import re
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

from interviewer.errors import UsageError

MAX_ANSWER_CHARS = 50_000  # ~8,000 words: far beyond any interview answer, well within a model's context
_LINE_BYTES = 64 * 1024  # a read never waits for a newline that /dev/zero will not send


def read_text(stream: BinaryIO, max_chars: int, into: list[str] | None = None) -> str:
    """UTF-8 text from `stream`, at most `max_chars` + 1 characters of it: one more than allowed
    tells a caller the text is too long without reading the rest of an endless stream.

    `into` collects the text read so far, for a caller that keeps it when Ctrl-C interrupts the
    read. A byte that is not UTF-8 raises `UnicodeDecodeError` with its offset in the stream.
    """
    pieces = [] if into is None else into
    decoder = codecs.getincrementaldecoder("utf-8")()
    chars = offset = 0
    while chars <= max_chars:
        line = stream.readline(_LINE_BYTES)
        if not line:
            _end(decoder, offset)
            return "".join(pieces)
        pending = len(decoder.getstate()[0])  # bytes of a character begun on the previous line
        try:
            piece = decoder.decode(line)
        except UnicodeDecodeError as exc:
            raise _at(exc, offset - pending) from None
        if not offset:  # a byte order mark, as some Windows editors and shells write, is no content
            piece = piece.removeprefix("\ufeff")
        offset += len(line)
        pieces.append(piece)
        chars += len(piece)
    return "".join(pieces)[: max_chars + 1]


def _end(decoder: codecs.IncrementalDecoder, offset: int) -> None:
    """Raise when the stream ends inside a character."""
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _at(exc, offset - len(exc.object)) from None


def _at(exc: UnicodeDecodeError, shift: int) -> UnicodeDecodeError:
    return UnicodeDecodeError(exc.encoding, exc.object, exc.start + shift, exc.end + shift, exc.reason)


def read_text_file(path: Path, max_chars: int) -> str:
    """A file's text, at most `max_chars` + 1 characters of it; the errors say what is wrong, by path."""
    try:
        with path.open("rb") as stream:
            return read_text(stream, max_chars)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


# --- TOML files ---------------------------------------------------------------------------------
# tomllib recurses once per level of nesting (5,000 levels are a RecursionError 3,000 lines long)
# and takes quadratic time in the parts of a dotted key (a 400 KB key takes minutes). A bank needs
# four levels and keys of two parts, so the shape is checked before the file is parsed.
MAX_TOML_BYTES = 1_000_000  # the largest built-in bank file has 60 KB
MAX_TOML_DEPTH = 32

# Strings and comments, each taken whole so the brackets and dots inside them are not counted. An
# unterminated one runs to the end of its line (or file): the file is invalid and tomllib will say
# where, and taking the rest keeps this scan linear.
_STRINGS_AND_COMMENTS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*+"""|""".*+'
    r"|'''(?:[^']|'(?!''))*+'''|'''.*+"
    r'|"(?:[^"\\\n]|\\[^\n])*+"|"[^\n]*+'
    r"|'[^'\n]*+'|'[^\n]*+"
    r"|#[^\n]*+",
    re.DOTALL,
)
_BRACKETS = re.compile(r"[^\[\]{}]+")
_KEY_BOUNDARY = re.compile(r"[=,\[\]{}\n]")


def toml_too_complex(text: str) -> str | None:
    """Why tomllib should not be given `text` (nested or dotted too deep), or None."""
    structure = _STRINGS_AND_COMMENTS.sub(" ", text)
    steps = (1 if c in "[{" else -1 for c in _BRACKETS.sub("", structure))
    if max(accumulate(steps), default=0) > MAX_TOML_DEPTH:
        return f"nested more than {MAX_TOML_DEPTH} levels deep"
    if max((part.count(".") for part in _KEY_BOUNDARY.split(structure)), default=0) >= MAX_TOML_DEPTH:
        return f"a dotted key has more than {MAX_TOML_DEPTH} parts"
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """A user's TOML file, bounded in size and nesting; every error is one line naming the file."""
    import tomllib  # here, not at the top: a bank read from the cache needs no parser

    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_TOML_BYTES:
        raise UsageError(f"{path}: larger than {MAX_TOML_BYTES:,} bytes; is it the right file?")
    try:
        text = data.decode("utf-8-sig")  # a byte order mark, as some Windows editors write, is no content
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    problem = toml_too_complex(text)
    if problem:
        raise UsageError(f"{path}: {problem}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
