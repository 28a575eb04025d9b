"""Bank files written as TOML a person reads and edits, and written whole or not at all."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from interviewer.errors import UsageError

# Written in this order, then anything else; lists of tables come last, as TOML requires.
_QUESTION_KEYS = ("id", "topic", "difficulty", "derived", "prompt", "reference", "note")
_TABLE_LISTS = ("key_points", "misconceptions", "follow_ups")


def string(value: str) -> str:
    """A TOML basic string; a multi-line one where the text has line breaks, so it reads as written."""
    lines = [
        json.dumps(line, ensure_ascii=False)[1:-1].replace("\x7f", "\\u007f") for line in value.split("\n")
    ]
    if len(lines) == 1:
        return f'"{lines[0]}"'
    return '"""\n' + "\n".join(lines) + '"""'


def _value(value: object) -> str:
    if isinstance(value, str):
        return string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a bank file")


def _table(header: str, data: Mapping[str, object], order: Sequence[str] = ()) -> list[str]:
    keys = [k for k in order if k in data] + sorted(k for k in data if k not in order)
    lines = [header]
    lines += [f"{k} = {_value(data[k])}" for k in keys if k not in _TABLE_LISTS and data[k] is not None]
    for name in _TABLE_LISTS:
        for entry in data.get(name) or ():  # type: ignore[attr-defined]
            lines += ["", *_table(f"[[questions.{name}]]", entry, ("point", "weight", "terms"))]
    return lines


def render(topic: str, questions: Sequence[Mapping[str, object]], title: str | None, comment: str) -> str:
    """A bank file: its header, then each question, with its key points after it."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines += [f"topic = {string(topic)}"]
    if title:
        lines.append(f"title = {string(title)}")
    for question in questions:
        lines += ["", *_table("[[questions]]", question, _QUESTION_KEYS)]
    return "\n".join(lines) + "\n"


def write_all(files: Mapping[Path, str], *, replace: bool) -> None:
    """Write every file or none: each to a temporary file beside it first, then renamed into place."""
    from interviewer.inputs import MAX_TOML_BYTES

    for path, content in files.items():
        size = len(content.encode("utf-8"))
        if size > MAX_TOML_BYTES:  # the bank would refuse to load it
            raise UsageError(
                f"{path} would hold {size:,} bytes, more than a bank file may ({MAX_TOML_BYTES:,}): "
                "split the questions into smaller files (or by topic) and import each"
            )
    if not replace:
        existing = [str(path) for path in files if path.exists()]
        if existing:
            raise UsageError(f"{existing[0]} exists; pass --force to replace it")
    written: list[Path] = []
    try:
        for path, content in files.items():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            written.append(tmp)
            tmp.write_text(content, encoding="utf-8")
    except OSError as exc:
        for tmp in written:
            tmp.unlink(missing_ok=True)
        raise UsageError(f"{exc.filename}: cannot write: {exc.strerror or exc}") from None
    for tmp, path in zip(written, files, strict=True):
        os.replace(tmp, path)
