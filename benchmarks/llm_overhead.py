"""Our own cost per LLM-graded answer, and the size of the grading prompt per question.

    python benchmarks/llm_overhead.py [--answers N] [--latency SECONDS] [--llama-cpp]

Runs the real LLMGrader (openai client, prompt rendering, reply validation with the evidence and
injection checks, scoring) against the loopback server in benchmarks/fake_llm_server.py, and
subtracts the time the server spent on each call (its latency included) from the wall time of each
grade. Goal: <= 50 ms once the client is warm. With --llama-cpp the server refuses a JSON schema
with HTTP 500, and the first grade learns JSON mode.
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
from interviewer.grading import llm  # noqa: E402

GOAL_MS = 50.0
ANSWER = (
    "Adam keeps an exponential moving average of the gradients, like momentum, and one of the squared "
    "gradients. Each step divides the first by the square root of the second, per parameter. Both start "
    "at zero, so early estimates are bias-corrected. AdamW decouples weight decay from the update."
)


def overhead(answers: int, latency: float, llama_cpp: bool = False) -> None:
    server = fake_llm_server.serve(latency=latency, llama_cpp=llama_cpp)
    settings = Settings(
        grader="llm", model="fake-grader", base_url=f"http://127.0.0.1:{server.server_port}/v1"
    )
    grader = llm.LLMGrader(settings)
    questions = bank.load()
    question = questions.get("optimization/adam")

    started = time.perf_counter()
    grader.warm()
    warm_ms = (time.perf_counter() - started) * 1000
    cold = grader.grade(question, ANSWER)  # first call: connection set-up, template compile
    assert cold.ok, cold.failure
    shape = grader.memory.get(grader.memory_key)

    ours = []
    for _ in range(answers):
        fake_llm_server.Handler.timings.clear()
        started = time.perf_counter()
        grade = grader.grade(question, ANSWER)
        total = time.perf_counter() - started
        assert grade.ok, grade.failure
        ours.append((total - sum(fake_llm_server.Handler.timings)) * 1000)
    server.shutdown()
    median, p90 = statistics.median(ours), sorted(ours)[int(0.9 * (len(ours) - 1))]
    print(f"LLM grading overhead ({answers} answers, server latency {latency * 1000:.0f} ms, loopback)")
    print(f"  client warm-up (import openai, build client)  {warm_ms:7.1f} ms")
    print(
        f"  our overhead per answer, median               {median:7.1f} ms  goal <= {GOAL_MS:.0f}: "
        f"{'met' if median <= GOAL_MS else 'MISSED'}"
    )
    print(f"  our overhead per answer, p90                  {p90:7.1f} ms")
    overturned = sum(1 for kp in grade.key_points if kp.why)
    print(f"  request shape {shape.mode}; the grade: {grade.score:g}/10, {overturned} verdicts overturned")


def prompt_sizes() -> None:
    questions = bank.load().questions
    sizes = []
    for q in questions:
        chat = llm.messages(q, ANSWER)
        sizes.append((sum(len(m["content"]) for m in chat), len(chat[0]["content"]), q.id))
    total = [s[0] for s in sizes]
    system = sizes[0][1]
    print(f"grading prompt per question ({len(questions)} questions, with a {len(ANSWER)}-character answer)")
    print("  tokens are estimated at 4 characters each (a tokenizer would need to download its tables)")
    print(f"  static system part (cacheable)  {system:6} chars  ~{system // 4} tokens")
    for label, value in (("min", min(total)), ("median", int(statistics.median(total))), ("max", max(total))):
        print(f"  whole prompt, {label:6}           {value:6} chars  ~{value // 4} tokens")
    largest = max(sizes)
    print(f"  largest: {largest[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency per call, seconds")
    parser.add_argument(
        "--llama-cpp", action="store_true", help="a server refusing JSON schemas with HTTP 500"
    )
    args = parser.parse_args()
    overhead(args.answers, args.latency, args.llama_cpp)
    prompt_sizes()


if __name__ == "__main__":
    main()
