"""Speed figures for issue 2, in one run: start-up, offline grading throughput, bank load time.

    python benchmarks/run.py [--repeat N]

Start-up is measured side by side with a minimal Typer app (benchmarks/minimal_typer_app.py), in
the same run and interleaved, so the ratio does not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from common import (  # benchmarks/ is on sys.path when a script runs
    children_cpu,
    installed_wheel_command,
    interviewer_command,
    wall,
)

HERE = Path(__file__).resolve().parent
CALIBRATION = HERE.parent / "interviewer" / "calibration" / "answers.toml"
STARTUP_GOAL = 1.3
# The cache emptied before each run. In this checkout (an editable install, no shipped index) every
# file is parsed and validated: what a bank author pays once after each edit, shown for information.
COLD = "bank list, checkout, cold cache"
# The same, from the wheel a user installs: its build ships the built-in bank validated.
COLD_WHEEL = "bank list, installed wheel, cold cache"
THROUGHPUT_GOAL = 200.0


def startup(repeat: int) -> None:
    home = tempfile.mkdtemp()
    env = {**os.environ, "INTERVIEWER_HOME": home, "NO_COLOR": "1"}
    env.pop("INTERVIEWER_BANK", None)
    # The warm-up must leave bytecode behind, as an installed package has it: with this set (as it is
    # in some shells) every run compiled each module edited since its .pyc was written (~15 ms for cli.py).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {
        "minimal Typer app --help": [sys.executable, str(HERE / "minimal_typer_app.py"), "--help"],
        # Typer 0.29 coerces every parameter that is given a value (a default None included) through
        # a pydantic TypeAdapter, so any command with such an option imports pydantic (~35% of this
        # baseline): a floor for every command but --help, ours or not.
        "minimal Typer app history": [sys.executable, str(HERE / "minimal_typer_app.py"), "history"],
        "interviewer --help": [*interviewer_command(), "--help"],
        "interviewer bank list": [*interviewer_command(), "bank", "list"],
        COLD: [*interviewer_command(), "bank", "list"],
        COLD_WHEEL: [*installed_wheel_command(), "bank", "list"],
    }
    # The installed wheel gets a home of its own: emptying its cache must not empty the other's.
    envs = {name: env for name in commands} | {COLD_WHEEL: {**env, "INTERVIEWER_HOME": tempfile.mkdtemp()}}
    for name, cmd in commands.items():  # warm the file cache and bytecode
        wall(cmd, envs[name])
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            if name in (COLD, COLD_WHEEL):
                shutil.rmtree(Path(envs[name]["INTERVIEWER_HOME"]) / "cache" / "bank", ignore_errors=True)
            before = children_cpu()
            times[name].append(wall(cmd, envs[name]))
            cpu[name].append(children_cpu() - before)
    base = statistics.median(times["minimal Typer app --help"])
    cpu_base = statistics.median(cpu["minimal Typer app --help"])
    print(f"start-up, median of {repeat} runs (interleaved); CPU time beside, steadier on a busy machine")
    for name, samples in times.items():
        median = statistics.median(samples)
        ratio = median / base
        goal = (
            "  (once after editing a bank file)"
            if name == COLD
            else ""
            if name.startswith("minimal")
            else f"  goal <= {STARTUP_GOAL}x: {'met' if ratio <= STARTUP_GOAL else 'MISSED'}"
        )
        cpu_ratio = statistics.median(cpu[name]) / cpu_base
        print(f"  {name:38} {median * 1000:7.1f} ms  {ratio:5.2f}x  (CPU {cpu_ratio:4.2f}x){goal}")
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, interviewer.cli; print(sorted(m for m in ('openai', 'pydantic', 'prompt_toolkit', 'rich', 'jinja2') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    print(f"  heavy modules imported by `import interviewer.cli`: {check.stdout.strip()}")


def grading(seconds: float) -> None:
    from interviewer import bank
    from interviewer.grading.offline import OfflineGrader

    questions = bank.load()
    answers = [
        (questions.get(a["question"]), a["text"]) for a in tomllib.loads(CALIBRATION.read_text())["answers"]
    ]
    grader = OfflineGrader()

    started = time.perf_counter()
    for question, text in answers:  # first pass compiles each question's terms
        grader.grade(question, text)
    cold = time.perf_counter() - started

    graded = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for question, text in answers:
            grader.grade(question, text)
        graded += len(answers)
    rate = graded / (time.perf_counter() - started)
    words = statistics.mean(len(text.split()) for _, text in answers)
    print(f"offline grading ({len(answers)} calibration answers, {words:.0f} words on average)")
    print(f"  first pass (compiles terms)  {len(answers) / cold:7.0f} answers/s")
    print(
        f"  warm                         {rate:7.0f} answers/s  goal >= {THROUGHPUT_GOAL:.0f}: {'met' if rate >= THROUGHPUT_GOAL else 'MISSED'}"
    )


def bank_load(repeat: int) -> None:
    from interviewer import bank

    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        loaded = bank.load()
        samples.append(time.perf_counter() - started)
    print(f"bank load ({len(loaded)} questions, {len(loaded.topics)} topics), in-process median of {repeat}")
    print(f"  {statistics.median(samples) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="runs per start-up command")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to measure grading")
    args = parser.parse_args()
    startup(args.repeat)
    grading(args.seconds)
    bank_load(args.repeat)


if __name__ == "__main__":
    main()
