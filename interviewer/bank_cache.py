"""The cache of validated bank files, and the bank's listing read from it without pydantic.

Parsing and validating the built-in bank costs ~20 ms, a fifth of the CLI's start-up. A file's
validated questions are cached as JSON, keyed by its path, size, modification time and this
module's version of the format, like Python's own bytecode cache. Any problem with the cache only
means it is not used.

Beside them, each file's listing: per question the id, topic, difficulty, prompt, number of key
points and hash, all that `bank list` shows. `bank list` runs often, and read from the listing it
builds no model and imports no model class (together ~15 ms of its ~20 ms own time).

A wheel ships the same two for its built-in bank, made when the wheel is built (see
`build_index` and the build hook in `_wheel_hook.py`): parsing the bank's TOML alone takes as long
as the whole start-up of a bare Typer app, and without them the first run after installing would
pay it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from interviewer import __version__, resources
from interviewer.errors import BankError, UsageError

BANK_ENV = "INTERVIEWER_BANK"
# Bump it when the cached shape changes, or the derivation of key points (derive.py) does.
CACHE_FORMAT = 5
QUESTIONS, LISTING = "json", "list.json"  # the two cache files of a bank file


@dataclass(frozen=True, slots=True)
class Listed:
    """A question as `bank list` shows it."""

    id: str
    topic: str
    difficulty: str
    prompt: str
    key_points: int
    content_hash: str


def paths_from_env(value: str | None = None) -> list[Path]:
    """Extra bank paths named by INTERVIEWER_BANK (separated like PATH)."""
    value = os.environ.get(BANK_ENV, "") if value is None else value
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def roots(paths: Sequence[Path], builtin: bool = True) -> list[Path]:
    return ([resources.bank_dir()] if builtin else []) + list(paths)


def bank_files(path: Path) -> list[Path]:
    if path.is_dir():
        # A symbolic link that leads nowhere is listed too, so that `load` reports it.
        return sorted(p for p in path.rglob("*.toml") if p.is_file() or p.is_symlink())
    if path.is_file():
        return [path]
    raise BankError(f"{path}: no such bank file or folder")


def check_topics(topics: Iterable[str], known: Sequence[str]) -> None:
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise UsageError(f"unknown topic {unknown[0]!r}; topics are: {', '.join(known)}")


def _cache_file(cache_dir: Path, path: Path, kind: str) -> Path:
    return cache_dir / f"{hashlib.sha256(str(path).encode()).hexdigest()[:24]}.{kind}"


def _cache_key(path: Path) -> list:
    stat = path.stat()
    return [CACHE_FORMAT, __version__, str(path), stat.st_size, stat.st_mtime_ns]


# The built-in bank's index, inside an installed wheel: per kind, per file name, its size and data.
SHIPPED = Path(__file__).resolve().parent / "bank-index"


def build_index(
    files: Sequence[Path], questions: Sequence[list[dict]], listings: Sequence[list[Listed]]
) -> dict:
    """The index of the built-in bank's files that a wheel ships, one JSON document per kind."""
    index: dict[str, dict] = {QUESTIONS: {}, LISTING: {}}
    for file, dumped, listed in zip(files, questions, listings, strict=True):
        size = file.stat().st_size
        index[QUESTIONS][file.name] = {"size": size, "data": dumped}
        index[LISTING][file.name] = {"size": size, "data": [astuple(q) for q in listed]}
    return {kind: {"key": [CACHE_FORMAT, __version__], "files": files_} for kind, files_ in index.items()}


@functools.cache
def _index(kind: str) -> dict | None:
    """The shipped index of one kind, read once; None outside a wheel (a checkout, an editable install)."""
    try:
        index = json.loads((SHIPPED / f"index.{kind}").read_text(encoding="utf-8"))
        return index["files"] if index["key"] == [CACHE_FORMAT, __version__] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _shipped(path: Path, kind: str) -> Any:
    """What the wheel ships for a built-in bank file, if it is the file the wheel was built with."""
    index = _index(kind)
    if index is None or path.parent != resources.bank_dir().resolve():
        return None
    try:
        entry = index[path.name]
        return entry["data"] if entry["size"] == path.stat().st_size else None
    except (OSError, KeyError, TypeError):
        return None


def read(cache_dir: Path, path: Path, kind: str) -> Any:
    """What was cached for the bank file at `path` (resolved) as it is now, or None: from the
    index a wheel ships for its built-in bank, else from the cache in `cache_dir`."""
    shipped = _shipped(path, kind)
    if shipped is not None:
        return shipped
    try:
        entry = json.loads(_cache_file(cache_dir, path, kind).read_text(encoding="utf-8"))
        return entry["data"] if entry["key"] == _cache_key(path) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(cache_dir: Path, path: Path, questions: list[dict], listing: list[Listed]) -> None:
    """Cache a bank file's validated questions and its listing (atomically: several processes may)."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        key = _cache_key(path)
        for kind, data in ((QUESTIONS, questions), (LISTING, [astuple(q) for q in listing])):
            target = _cache_file(cache_dir, path, kind)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"key": key, "data": data}, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, target)
    except OSError:
        pass


def listing(paths: Sequence[Path], cache_dir: Path) -> list[Listed] | None:
    """The built-in bank's questions and those of `paths`, from the cache; None unless every file
    is cached as it is now and no id repeats (then `bank.load` validates, caches or reports)."""
    listed: list[Listed] = []
    seen: set[str] = set()
    for root in roots(paths):
        for file in bank_files(root):
            rows = read(cache_dir, file.resolve(), LISTING)
            if rows is None:
                return None
            for row in rows:
                question = Listed(*row)
                if question.id in seen:
                    return None
                seen.add(question.id)
                listed.append(question)
    return listed or None
