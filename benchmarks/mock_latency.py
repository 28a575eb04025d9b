"""How long the candidate waits for the mock interview's summary after the last answer.

    python benchmarks/mock_latency.py [--latency SECONDS] [--answers N]

Five scripted answers (submitted back to back: the worst case for overlap) against the loopback
server of benchmarks/fake_llm_server.py with 1 s latency per grading call. Measured: the time from
the last answer to the finished summary with background grading, against grading the same answers
one after another after the interview. Goal: <= 1.2 s (the floor is one call, 1.0 s).

The client warms up (imports openai, ~1 s) while the first question is on screen, as in the real
interview, where the opening and "Ready?" come first and no one answers in less than a second: the
answers are submitted once it is done, and its time is shown apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fake_llm_server  # noqa: E402

from interviewer import bank  # noqa: E402
from interviewer.config import Settings  # noqa: E402
from interviewer.grading.llm import LLMGrader  # noqa: E402
from interviewer.session import MockInterview  # noqa: E402
from interviewer.store import Store, now  # noqa: E402
from interviewer.summary import summarize  # noqa: E402

GOAL = 1.2
ANSWER = "A first sentence that says something. A second sentence with more. A third sentence to finish."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--answers", type=int, default=5)
    args = parser.parse_args()

    server = fake_llm_server.serve(latency=args.latency)
    settings = Settings(
        grader="llm", model="fake-grader", base_url=f"http://127.0.0.1:{server.server_port}/v1"
    )
    questions = bank.load().interview(args.answers, seed=1)
    with tempfile.TemporaryDirectory() as home:
        store = Store.open(Path(home))

        grader = LLMGrader(settings)
        run = MockInterview.start(store, grader, questions, per_question=None)
        started = time.perf_counter()
        warming = run.warm()
        if warming is not None:
            warming.join()
        warm_up = time.perf_counter() - started
        for turn in run.turns():
            run.submit(turn, ANSWER, started=now(), elapsed=0.0)
        last_answer = time.perf_counter()
        run.wait()
        run.finish()
        summary = summarize(store, store.session(run.session_id))
        overlapped = time.perf_counter() - last_answer
        assert all(q.status == "graded" for q in summary.questions), summary.questions

        started = time.perf_counter()
        for question in questions:
            assert grader.grade(question, ANSWER).ok
        sequential = time.perf_counter() - started
    server.shutdown()

    print(
        f"mock interview: {args.answers} scripted answers, server latency {args.latency:g} s per grading call"
    )
    print(f"  client warm-up, while the first question is on screen {warm_up:6.2f} s")
    print(
        f"  last answer -> summary, background grading   {overlapped:6.2f} s  goal <= {GOAL:g} s: "
        f"{'met' if overlapped <= GOAL else 'MISSED'}"
    )
    print(
        f"  grading one after another                    {sequential:6.2f} s  ({sequential / overlapped:.1f}x longer)"
    )


if __name__ == "__main__":
    main()
