"""How fast `bank import` reads 1,000 Q&A pairs, and `bank list` loads the 1,000 derived questions.

    python benchmarks/import_speed.py [--repeat N] [--pairs N]

Both are measured as whole processes, the way a user runs them, beside a minimal Typer app's
`--help` in the same run and interleaved (as benchmarks/run.py does), so the ratios do not depend on
how busy the machine is. Goals: the import under 2 s; `bank list` with the imported bank, after its
first run has derived and cached the key points, within the start-up goal of run.py.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import interviewer_command, wall  # benchmarks/ is on sys.path when a script runs
from run import STARTUP_GOAL

HERE = Path(__file__).resolve().parent
IMPORT_GOAL = 2.0
WORDS = """gradient loss weight layer batch norm dropout learning rate optimiser momentum variance bias
attention token embedding kernel stride pooling feature label sample split validation test metric
precision recall threshold ensemble tree boosting regularisation penalty sparsity prior posterior
likelihood entropy divergence encoder decoder residual activation saturation scaling schedule""".split()


def notes(pairs: int, seed: int = 0) -> str:
    """A Markdown document of `pairs` questions, each with a three-sentence answer, ten topics."""
    rng = random.Random(seed)
    lines = []
    for n in range(pairs):
        if n % (pairs // 10 or 1) == 0:
            lines += [f"## Topic {n // (pairs // 10 or 1) + 1}", ""]
        subject = " ".join(rng.sample(WORDS, 3))
        lines.append(f"### {n + 1}. How does {subject} affect training?")
        answer = ". ".join(" ".join(rng.sample(WORDS, 8)).capitalize() for _ in range(3))
        lines += [answer + ".", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command")
    parser.add_argument("--pairs", type=int, default=1000, help="questions in the imported document")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="import-speed-"))
    source = work / "notes.md"
    source.write_text(notes(args.pairs), encoding="utf-8")
    out = work / "imported.toml"
    env = {**os.environ, "INTERVIEWER_HOME": str(work / "home"), "NO_COLOR": "1"}
    env.pop("INTERVIEWER_BANK", None)
    baseline = [sys.executable, str(HERE / "minimal_typer_app.py"), "--help"]
    importing = [*interviewer_command(), "bank", "import", str(source), "-o", str(out), "--force"]
    listing = [*interviewer_command(), "bank", "list", "--bank", str(out)]

    wall(importing, env)
    started = time.perf_counter()
    wall(listing, env)  # the first run derives every question's key points and caches them
    first_list = time.perf_counter() - started

    times: dict[str, list[float]] = {"minimal Typer app --help": [], "bank import": [], "bank list": []}
    for _ in range(args.repeat):
        times["minimal Typer app --help"].append(wall(baseline, env))
        times["bank import"].append(wall(importing, env))
        wall(listing, env)  # the import rewrote the file: the next list derives again
        times["bank list"].append(wall(listing, env))
    base = statistics.median(times["minimal Typer app --help"])
    imported = statistics.median(times["bank import"])
    listed = statistics.median(times["bank list"])
    print(
        f"{args.pairs} Q&A pairs (Markdown, {source.stat().st_size // 1024} KB), median of {args.repeat} runs"
    )
    print(f"  minimal Typer app --help        {base * 1000:7.1f} ms")
    verdict = "met" if imported < IMPORT_GOAL else "MISSED"
    print(f"  bank import                     {imported * 1000:7.1f} ms  goal < {IMPORT_GOAL:g} s: {verdict}")
    print(f"  bank list, first run (derives)  {first_list * 1000:7.1f} ms  {first_list / base:5.2f}x")
    verdict = "met" if listed / base <= STARTUP_GOAL else "MISSED"
    print(
        f"  bank list, cached               {listed * 1000:7.1f} ms  {listed / base:5.2f}x  goal <= {STARTUP_GOAL}x: {verdict}"
    )


if __name__ == "__main__":
    main()
