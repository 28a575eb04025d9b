"""How scores, verdicts, times and graders are written: one definition for the terminal and the reports.

Colours are named by band (good, fair, weak), not by colour: the terminal and the HTML report each
map a band to their own palette, so a score is green in both or in neither.
"""

from __future__ import annotations

import math
from datetime import datetime

# The version of every JSON document the CLI prints (each --json, and `report --format json`). Fields
# may be added; it changes when one is renamed, removed or changes type. See the README's "JSON output".
SCHEMA_VERSION = 2

GOOD = 7.0  # a score at or above this is a strength
FAIR = 4.0  # below this, a weak answer

MARKS = {"covered": "✓", "partial": "◐", "missing": "✗"}
VERDICT_BANDS = {"covered": "good", "partial": "fair", "missing": "weak"}


def band(score: float) -> str:
    """good, fair or weak: the colour a score is shown in."""
    return "good" if score >= GOOD else "fair" if score >= FAIR else "weak"


def score(value: float | None) -> str:
    """7.5, 10, 0; a dash when there is no score."""
    return "–" if value is None else f"{float(value):g}"


def clock(seconds: float | None) -> str:
    """Time used as m:ss, to the nearest second; a dash when unknown."""
    if seconds is None:
        return "–"
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def countdown(seconds: float) -> str:
    """Time left as m:ss, rounded up: it reads 0:00 only when the time is up."""
    return clock(math.ceil(max(0.0, seconds)))


def elapsed(start: str, end: str) -> float:
    """Seconds between two stored ISO timestamps, never negative (a clock set back)."""
    return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())


def grader_words(grader: str) -> str:
    """Who graded, for a sentence: "the offline grader (an estimate)" or "the LLM gpt-4o-mini".

    A session regraded by another grader lists both, as the summary joins them with commas."""
    names = [name.strip() for name in grader.split(",") if name.strip()]
    return " and ".join(_one_grader(name) for name in names) or "no grader yet"


def _one_grader(name: str) -> str:
    if name == "offline":
        return "the offline grader (an estimate)"
    return f"the LLM {name.removeprefix('llm:')}"
