"""`interviewer doctor`: the effective configuration, and whether the endpoint really grades."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from interviewer.bank import Bank
from interviewer.config import Settings

if TYPE_CHECKING:
    from interviewer.grading.llm import Shape

# A known answer to a known question: a working grader covers its first key point.
PROBE_QUESTION = "regularization/dropout"
PROBE_ANSWER = (
    "During training, dropout sets each unit's activation to zero at random with probability p, so units "
    "cannot co-adapt and the network behaves like an ensemble of thinned sub-networks. At inference all "
    "units are used; with inverted dropout the kept activations were already scaled by 1/(1-p) in training."
)
MODE_NAMES = {
    "json_schema": "strict JSON schema",
    "json_object": "JSON mode (the endpoint refused a JSON schema)",
    "text": "JSON in text (the endpoint refused a JSON schema and JSON mode)",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def configuration(settings: Settings) -> list[tuple[str, str]]:
    """What is in effect and where each value came from. The key is shown only as present or absent."""

    def origin(key: str) -> str:
        return settings.origin.get(key, "default")

    key_state = f"present (from {origin('api_key')})" if settings.api_key else "absent"
    return [
        ("grader", f"{settings.grader} -> {settings.choose_grader()} (from {origin('grader')})"),
        ("model", f"{settings.model} (from {origin('model')})"),
        ("base URL", f"{settings.shown_endpoint} (from {origin('base_url')})"),
        ("API key", key_state),
        ("timeout", f"{settings.timeout:g} s, {settings.max_retries} retries"),
        ("config file", str(settings.config_file) if settings.config_file else "none"),
    ]


def run(settings: Settings, bank: Bank, modes_file: Path | None) -> list[Check]:
    """Ask the endpoint for its models, then grade one known answer; stop at the first failure."""
    from interviewer.grading.llm import LLMGrader, ModeMemory, explain
    from interviewer.session import grade_safely

    memory = ModeMemory(modes_file)
    grader = LLMGrader(settings, memory=memory)
    checks: list[Check] = []
    grader.warm()  # import and build the client outside the timing

    started = time.perf_counter()
    try:
        models = [m.id for m in grader.client.models.list()]
    except (AttributeError, ValueError):  # not a list of models, or not even JSON: a web page, a proxy
        checks.append(Check("endpoint", True, "reachable, but /models is not an OpenAI-compatible list"))
    except Exception as exc:
        import openai

        if isinstance(exc, openai.APIConnectionError | openai.AuthenticationError):
            return [Check("endpoint", False, explain(exc, settings))]
        checks.append(
            Check("endpoint", True, f"reachable, but it does not list models ({explain(exc, settings)})")
        )
    else:
        listed = "listed" if settings.model in models else "not in its list (some servers list no aliases)"
        elapsed = (time.perf_counter() - started) * 1000
        checks.append(
            Check(
                "endpoint",
                True,
                f"reachable in {elapsed:.0f} ms, {len(models)} models; {settings.model!r} {listed}",
            )
        )

    memory.forget(grader.memory_key)  # probe the best mode again
    grade = grade_safely(grader, bank.get(PROBE_QUESTION), PROBE_ANSWER)
    if not grade.ok:
        checks.append(Check("grading", False, grade.failure or "failed"))
        if memory.known(grader.memory_key):  # the endpoint took a request: the model's reply failed
            checks.append(Check("structured output", True, _shape_detail(memory.get(grader.memory_key))))
        return checks
    usage = grade.usage
    tokens = f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens" if usage else ""
    checks.append(
        Check(
            "grading", True, f"a test answer graded {grade.score:g}/10 in {grade.latency_ms:.0f} ms, {tokens}"
        )
    )
    checks.append(Check("structured output", True, _shape_detail(memory.get(grader.memory_key))))
    main = grade.key_points[0]
    if main.verdict.value == "missing":
        said = f" ({main.why})" if main.why else ""
        checks.append(
            Check(
                "judgement",
                False,
                f"the model missed the main point of a correct test answer{said}: try a stronger model",
            )
        )
    return checks


def _shape_detail(shape: Shape) -> str:
    adjustments = [
        note
        for note, applies in (
            ("max_completion_tokens instead of max_tokens", shape.tokens_param != "max_tokens"),
            ("no temperature", not shape.temperature),
            ("no seed", not shape.seed),
        )
        if applies
    ]
    return MODE_NAMES[shape.mode] + (f"; the endpoint wants {', '.join(adjustments)}" if adjustments else "")
