"""How long the schedule takes over a long history: `practice --due` and `stats` with 10,000 graded
answers, against the same commands in a home with no answers (start-up, bank and database alone).

    python benchmarks/schedule_speed.py [--answers 10000] [--runs 5]

The history: mock sessions of five questions over the last 300 days, every question of the built-in
bank answered about 66 times, each key point's verdict drawn at random (seeded), stored as the
product stores them (an answer with its question's snapshot, then its grade). Figures:

- *cold*: the first command after the history was written, which replays every question with fsrs
  and writes the schedule cache;
- *warm*: later commands, which replay only what changed: `stats` nothing, `practice --due` the one
  question its previous run answered.

The goal is under 0.5 s beyond start-up for the warm commands.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import interviewer_command, wall  # noqa: E402

from interviewer import bank  # noqa: E402
from interviewer.grading.model import Grade, PointVerdict, Verdict, compute_score  # noqa: E402
from interviewer.store import Store  # noqa: E402

ANSWER = "Dropout zeroes a random share of the units at each training step, so no unit can rely on another."


def write_history(home: Path, count: int, seed: int = 7) -> None:
    questions = bank.load().questions
    rng = random.Random(seed)
    Store.open(home).close()  # the schema, as a first run makes it
    db = sqlite3.connect(home / "interviewer.db")
    now = datetime.now(UTC)
    snapshots = {q.id: json.dumps(q.snapshot(), ensure_ascii=False) for q in questions}
    sessions, answers, grades = [], [], []
    for number in range(count):
        if number % 5 == 0:
            session = f"s{number // 5:07d}"
            started = now - timedelta(days=300 * (1 - number / count), minutes=rng.randint(0, 600))
            sessions.append(
                (session, "mock", "completed", "offline", "{}", started.isoformat(timespec="seconds"))
            )
        q = questions[rng.randrange(len(questions))]
        at = started + timedelta(minutes=5 * (number % 5) + 4)
        skill = rng.random()
        points = [
            PointVerdict(
                point=kp.point,
                weight=kp.weight,
                verdict=Verdict(rng.choices(["covered", "partial", "missing"], [skill, 0.3, 1 - skill])[0]),
            )
            for kp in q.key_points
        ]
        grade = Grade(grader="offline", key_points=points, score=compute_score(points, []))
        stamp = at.isoformat(timespec="seconds")
        answers.append(
            (
                number + 1,
                session,
                number % 5 + 1,
                q.id,
                q.content_hash,
                snapshots[q.id],
                ANSWER,
                (at - timedelta(minutes=3)).isoformat(timespec="seconds"),
                stamp,
                300.0,
            )
        )
        grades.append((number + 1, stamp, "graded", "offline", grade.score, grade.model_dump_json()))
    with db:
        db.executemany(
            "INSERT INTO sessions (id, mode, status, grader, settings, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            sessions,
        )
        db.executemany(
            """INSERT INTO answers (id, session_id, position, question_id, question_hash, question, text,
                                    started_at, submitted_at, time_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            answers,
        )
        db.executemany(
            "INSERT INTO grades (answer_id, created_at, status, grader, score, grade) VALUES (?, ?, ?, ?, ?, ?)",
            grades,
        )
    db.close()


def median_walls(cmd: list[str], envs: list[dict[str, str]], runs: int) -> list[float]:
    """The median time of `cmd` in each home, the homes taking turns (so that a busier moment of
    the machine does not fall on one of them)."""
    times: list[list[float]] = [[] for _ in envs]
    for _ in range(runs):
        for env, seen in zip(envs, times, strict=True):
            seen.append(wall(cmd, env))
    return [statistics.median(seen) for seen in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="interviewer-schedule-"))
    answer_file = work / "answer.txt"
    answer_file.write_text(ANSWER)
    command = interviewer_command()
    stats = [*command, "stats", "--json"]
    due = [*command, "practice", "--due", "--json", "--grader", "offline", "--answer-file", str(answer_file)]

    empty = {**os.environ, "INTERVIEWER_HOME": str(work / "empty"), "NO_COLOR": "1"}
    wall([*command, "bank", "list", "--json"], empty)  # the bank cache, as any home has after a first run
    wall(due, empty)  # one answer, so that stats shows its schedule in the empty home too

    full = {**os.environ, "INTERVIEWER_HOME": str(work / "full"), "NO_COLOR": "1"}
    started = time.perf_counter()
    write_history(work / "full", args.answers)
    print(f"history: {args.answers:,} graded answers written in {time.perf_counter() - started:.1f} s")
    wall([*command, "bank", "list", "--json"], full)
    base_stats = wall(stats, empty)
    cold = wall(stats, full)
    base_stats, warm_stats = median_walls(stats, [empty, full], args.runs)
    base_due, warm_due = median_walls(due, [empty, full], args.runs)

    print(f"{'command':<22} {'no history':>11} {'10k history':>12} {'beyond start-up':>16} {'ratio':>6}")
    rows = [
        ("stats (cold cache)", base_stats, cold),  # one run: only the first is cold
        ("stats", base_stats, warm_stats),
        ("practice --due", base_due, warm_due),
    ]
    for name, base, value in rows:
        print(f"{name:<22} {base:>10.3f}s {value:>11.3f}s {value - base:>15.3f}s {value / base:>6.2f}")
    print("goal: under 0.5 s beyond start-up for stats and practice --due (warm)")


if __name__ == "__main__":
    main()
