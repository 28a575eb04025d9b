"""How long `interviewer calibrate` takes with the offline grader over every shipped labelled set.

    python benchmarks/calibrate_speed.py [--repeat N]

Measured as a whole process, the way a user runs it, side by side with `interviewer --version` (the
same interpreter start and CLI import, no work) in the same run and interleaved, so the figures do
not depend on how busy the machine is. Goal: under 3 s. Then, in one process, grading the same
answers inline against on the mock's thread pool, which is why `calibrate` grades offline inline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

from common import interviewer_command, wall  # benchmarks/ is on sys.path when a script runs

GOAL = 3.0


def whole_process(repeat: int) -> None:
    from interviewer import calibrate

    home = tempfile.mkdtemp()
    env = {**os.environ, "INTERVIEWER_HOME": home, "NO_COLOR": "1"}
    for name in ("INTERVIEWER_BANK", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(name, None)
    commands = {
        "interviewer --version": [*interviewer_command(), "--version"],
        "interviewer calibrate --grader offline": [
            *interviewer_command(),
            "calibrate",
            "--grader",
            "offline",
        ],
    }
    for cmd in commands.values():  # warm the file cache, the bytecode and the bank cache
        wall(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            times[name].append(wall(cmd, env))
    sets = calibrate.shipped_sets()
    answers = sum(len(s.answers) for s in calibrate.load_sets(None, _bank()))
    print(
        f"whole process, median (min-max) of {repeat} interleaved runs; "
        f"{answers} answers in {len(sets)} shipped sets ({', '.join(p.name for p in sets)})"
    )
    baseline = statistics.median(times["interviewer --version"])
    for name, samples in times.items():
        median = statistics.median(samples)
        line = f"  {name:40} {median:6.2f} s  ({min(samples):.2f}-{max(samples):.2f})"
        if name != "interviewer --version":
            line += f"  = baseline + {median - baseline:.2f} s;  goal < {GOAL:g} s: {'met' if median < GOAL else 'MISSED'}"
        print(line)
    shutil.rmtree(home, ignore_errors=True)


def _bank():  # type: ignore[no-untyped-def]
    from interviewer import bank

    return bank.load()


def inline_or_pool(repeat: int) -> None:
    from interviewer import calibrate
    from interviewer.grading.offline import OfflineGrader
    from interviewer.session import MAX_CONCURRENT_GRADES

    sets = calibrate.load_sets(None, _bank())
    threads = f"pool of {MAX_CONCURRENT_GRADES} threads"
    processes = f"here + a process per other core ({os.cpu_count()})"
    modes = {
        "inline": {"inline": True, "processes": False},
        threads: {"inline": False, "processes": False},
        processes: {"processes": True},
    }
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(repeat):
        for name, how in modes.items():
            grader = OfflineGrader()  # a fresh grader each time: compiling the bank's terms is part of it
            started = time.perf_counter()
            calibrate.run(sets, grader, **how)
            times[name].append(time.perf_counter() - started)
    print(
        f"grading only, median of {repeat} interleaved runs (fresh grader each; processes spawned each run)"
    )
    for name, samples in times.items():
        print(f"  {name:40} {statistics.median(samples):6.2f} s  ({min(samples):.2f}-{max(samples):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command")
    args = parser.parse_args()
    whole_process(args.repeat)
    inline_or_pool(args.repeat)


if __name__ == "__main__":
    main()
