"""What a user hands the tool, read within bounds: an endless stream ends in a one-line error, not
in a hang or a MemoryError."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import BinaryIO

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
