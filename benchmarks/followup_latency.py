"""How long the candidate waits for an LLM follow-up question after submitting an answer.

    python benchmarks/followup_latency.py [--latency SECONDS] [--runs N]

Against the loopback server of benchmarks/fake_llm_server.py, which takes `--latency` (1 s) per call
and streams a follow-up a word at a time over that second, the first word after a fifth of it.
Measured, median of N runs: from submitting the answer to the first text of the follow-up on screen
(the first call of `on_text`) and to the whole follow-up; then the same against a server that does
not stream. Goal: the whole follow-up within one call (<= latency + 0.2 s), the first words sooner
when the server streams.

The client is warmed first (imports openai, ~1 s), as the interview warms it while the first
question is on screen.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fake_llm_server  # noqa: E402

from interviewer import bank  # noqa: E402
from interviewer.config import Settings  # noqa: E402
from interviewer.grading.followup_llm import LLMFollowUps  # noqa: E402
from interviewer.grading.llm import LLMGrader  # noqa: E402

MARGIN = 0.2  # seconds over one call the goal allows
QUESTION = "optimization/adam"
ANSWER = (
    "Adam keeps a moving average of the gradients, like momentum, and adapts the step for each parameter."
)


def timed(follow_ups: LLMFollowUps, question: bank.Question) -> tuple[float, float]:
    """Seconds from the answer to the follow-up's first text on screen, and to the whole follow-up."""
    first: list[float] = []
    started = time.perf_counter()
    text = follow_ups.follow_up(
        question, ANSWER, on_text=lambda _: first.append(time.perf_counter()) if not first else None
    )
    whole = time.perf_counter() - started
    assert text is not None and first, f"no follow-up from the model: {follow_ups.last_failure}"
    return first[0] - started, whole


def medians(follow_ups: LLMFollowUps, question: bank.Question, runs: int) -> tuple[float, float]:
    results = [timed(follow_ups, question) for _ in range(runs)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    server = fake_llm_server.serve(latency=args.latency)
    settings = Settings(
        grader="llm", model="fake-grader", base_url=f"http://127.0.0.1:{server.server_port}/v1"
    )
    grader = LLMGrader(settings)
    follow_ups = LLMFollowUps(grader, fallback=None)
    grader.warm()
    _ = follow_ups.client
    question = bank.load().get(QUESTION)

    streamed = medians(follow_ups, question, args.runs)
    fake_llm_server.Handler.stream = False
    whole = medians(follow_ups, question, args.runs)
    server.shutdown()

    goal = args.latency + MARGIN
    print(f"LLM follow-up: server latency {args.latency:g} s per call, median of {args.runs} runs")
    for name, (first, done) in (("streamed", streamed), ("not streamed", whole)):
        met = "met" if done <= goal else "MISSED"
        print(
            f"  {name:<13} answer -> first text {first:5.2f} s   -> whole follow-up {done:5.2f} s"
            f"  goal <= {goal:g} s: {met}"
        )


if __name__ == "__main__":
    main()
