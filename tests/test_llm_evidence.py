"""A model's quote counts as evidence only when it is a meaningful span of the answer that supports
its key point; a reply that mostly fails that is repaired, then failed, never scored 0 in silence."""

import json
import time

import pytest
from llm_fakes import ADAM, ANSWER, BASE, QUOTES, completion, practice_json, reply, sent

from interviewer.grading import evidence

WEIGHTS = [kp.weight for kp in ADAM.key_points]


@pytest.fixture
def endpoint(monkeypatch, respx_mock):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    return respx_mock.post(f"{BASE}/chat/completions")


def score_of(covered):
    return round(10 * sum(w for w, c in zip(WEIGHTS, covered, strict=True) if c) / sum(WEIGHTS), 1)


def test_a_good_reply_with_proper_quotes_scores_what_it_should(cli, endpoint):
    endpoint.mock(return_value=completion(reply(["covered"] * 4 + ["partial", "missing"])))
    _, grade = practice_json(cli)
    assert grade["status"] == "graded" and grade["notes"] == []
    expected = round(10 * (sum(WEIGHTS[:4]) + 0.5 * WEIGHTS[4]) / sum(WEIGHTS), 1)
    assert grade["score"] == expected
    assert [kp["evidence"] for kp in grade["key_points"]] == [*QUOTES[:5], None]
    assert all(kp["why"] is None for kp in grade["key_points"])
    assert len(endpoint.calls) == 1


def test_quotes_that_differ_only_in_case_spacing_quote_marks_and_dashes_still_count(cli, endpoint):
    answer = ANSWER.replace("Each parameter's step", "Each parameter\u2019s step").replace(
        "start at zero", "start at\n  zero"
    )
    quotes = list(QUOTES)
    quotes[3] = "each PARAMETER'S step is the first moment divided by the square root of the second"
    quotes[5] = (
        "AdamW, which decouples weight decay, is the default, and a learning rate of 1e\u20133 often works"
    )
    endpoint.mock(return_value=completion(reply(evidence=quotes)))
    _, grade = practice_json(cli, answer)
    assert grade["score"] == 10.0 and grade["notes"] == []


def test_adam_dot_with_every_point_covered_by_the_letter_a_scores_nothing_and_says_why(cli, endpoint):
    endpoint.mock(return_value=completion(reply(evidence=["A"] * 6)))
    result, grade = practice_json(cli, "Adam.")
    assert result.exit_code == 0 and grade["status"] == "graded" and grade["score"] == 0.0
    assert [kp["verdict"] for kp in grade["key_points"]] == ["missing"] * 6
    assert all(
        kp["why"] == "not credited: the grader said covered, but the answer is too short to show it"
        for kp in grade["key_points"]
    )
    assert grade["notes"] == [
        "The grader's verdicts on key points 1, 2, 3, 4, 5, 6 were not credited: "
        "the answer is too short to show them."
    ]
    assert len(endpoint.calls) == 1, "no quote could show anything: nothing for a repair to fix"
    shown = cli("practice", "optimization/adam", input="Adam.").stdout
    assert "were not credited: the answer is too short to show them." in shown


def test_a_single_letter_quoted_from_a_real_answer_is_repaired_then_failed(cli, endpoint, home):
    endpoint.mock(return_value=completion(reply(evidence=["A"] * 6)))
    result, grade = practice_json(cli)
    assert result.exit_code == 1 and grade["status"] == "failed" and grade["score"] is None
    assert grade["failure"].startswith(
        "the model's reply was not a valid grade, even after a repair: the evidence for 6 of the 6 key "
        "points it credited is not a usable quote (key point 1: its quote \u201cA\u201d is too short to state "
        "anything (0 of at least 3 meaningful words);"
    )
    assert len(endpoint.calls) == 2
    history = json.loads(cli("history", "--json").stdout)["attempts"]
    assert history[0]["grade_status"] == "failed", "stored as failed, so `grade` retries it"


def test_first_word_ellipsis_last_word_is_no_evidence_and_the_repair_says_so(cli, endpoint):
    endpoint.side_effect = [completion(reply(evidence=["Adam \u2026 works."] * 6)), completion(reply())]
    _, grade = practice_json(cli)
    assert grade["status"] == "graded" and grade["score"] == 10.0
    repair = sent(endpoint, 1)["messages"][-1]["content"]
    assert (
        "key point 1: its quote \u201cAdam \u2026 works.\u201d joins passages of the answer that are not "
        "close together" in repair
    )
    assert "Evidence must be whole words copied exactly from the answer" in repair


def test_all_invented_quotes_are_repaired_then_a_failed_grade_that_grade_retries(cli, endpoint):
    invented = [
        "Adam normalises each step by the running RMS",
        "it keeps a decaying average of past gradients",
        "the second moment tracks squared gradients",
        "updates are m hat over root v hat",
        "bias correction fixes the zero start",
        "AdamW is the modern default",
    ]
    endpoint.mock(return_value=completion(reply(evidence=invented)))
    result, grade = practice_json(cli)
    assert result.exit_code == 1 and grade["status"] == "failed" and grade["score"] is None
    assert (
        "key point 1: its quote \u201cAdam normalises each step by the running RMS\u201d does not occur"
        in (grade["failure"])
    )
    assert len(endpoint.calls) == 2

    endpoint.mock(return_value=completion(reply()))
    regraded = cli("grade", "latest", "--json")
    assert regraded.exit_code == 0 and json.loads(regraded.stdout)["graded"][0]["score"] == 10.0


def test_a_minority_of_bad_quotes_is_overturned_with_the_reason_and_a_summary(cli, endpoint):
    quotes = list(QUOTES)
    quotes[0] = "every parameter gets its own step"  # fine: whole words, states the point
    quotes[2] = "squared"  # one word
    quotes[5] = "Both averages start at zero, hence bias correction"  # says nothing of AdamW or defaults
    endpoint.mock(return_value=completion(reply(evidence=quotes)))
    result, grade = practice_json(cli)
    assert grade["status"] == "graded" and len(endpoint.calls) == 1
    verdicts = [kp["verdict"] for kp in grade["key_points"]]
    assert verdicts == ["covered", "covered", "missing", "covered", "covered", "missing"]
    assert grade["score"] == score_of([True, True, False, True, True, False])
    assert grade["key_points"][2]["why"] == (
        "not credited: the grader said covered, but its quote \u201csquared\u201d is too short to state "
        "anything (1 of at least 3 meaningful words)"
    )
    assert grade["key_points"][5]["why"].endswith("shares no words with the key point")
    assert grade["notes"] == [
        "The grader's verdicts on key points 3, 6 were not credited: its quotes did not show them."
    ]
    shown = cli("practice", "optimization/adam", input=ANSWER).stdout
    assert "were not credited: its quotes did not show them." in shown
    assert "is too short to state anything" in shown


# --- the check itself ---------------------------------------------------------------------------

SUPPORTS = frozenset({"moment", "squar", "gradient"})
TEXT = "Adam keeps a moving average of the squared gradients, the second moment, for every weight."


@pytest.mark.parametrize(
    ("quote", "problem"),
    [
        ("a moving average of the squared gradients", None),
        ("moving average of the squared gradients \u2026 the second moment", None),
        ("Adam keeps ... squared gradients ... every weight", None),  # three close fragments
        ("squared gradients, the second moment", None),
        ("ada", "cuts words of the answer in two"),
        ("squared gradient", "cuts words of the answer in two"),
        ("Adam \u2026 moving", "is too short to state anything (2 of at least 3 meaningful words)"),
        ("keeps a moving average", "shares no words with the key point"),
        ("Adam ... keeps ... moving ... average", "joins 4 fragments with '\u2026' (at most 3)"),
        (
            "the second moment ... Adam keeps",
            "joins passages of the answer that are not close together, or not in order",
        ),
        ("a moving average of the squared logits", "does not occur in the answer"),
        ("...", "is empty"),
    ],
)
def test_what_counts_as_evidence(quote, problem):
    assert evidence.problem(quote, TEXT, SUPPORTS) == problem


def test_an_ellipsis_may_not_skip_more_than_a_few_words():
    filler = " ".join(f"word{i}" for i in range(evidence.MAX_GAP_WORDS))
    near = f"Adam keeps a moving average {filler} of the squared gradients."
    far = f"Adam keeps a moving average {filler} more of the squared gradients."
    quote = "Adam keeps a moving average \u2026 of the squared gradients"
    assert evidence.problem(quote, near, SUPPORTS) is None
    assert (
        evidence.problem(quote, far, SUPPORTS)
        == "joins passages of the answer that are not close together, or not in order"
    )


def test_a_short_answer_needs_only_as_many_words_as_it_has():
    assert evidence.problem("weights shrink", "Weights shrink.", frozenset({"shrink"})) is None
    assert evidence.answer_too_short("Adam.") and not evidence.answer_too_short("Weights shrink.")


def test_a_key_point_with_only_a_statement_is_supported_by_its_statement_words():
    points = (
        ("Uses running averages at inference", ()),
        ("Normalizes each feature over the mini-batch", ("normalize | standardize", "batch")),
    )
    first, second = evidence.point_words(points, "How does batch norm behave at test time?")
    assert first == {"run", "averag", "infer"}
    assert "standard" in second and "batch" not in second, "the question's own words show no point"
    quote = "at inference it uses the running averages from training"
    assert (
        evidence.problem(quote, "Batch norm: at inference it uses the running averages from training.", first)
        is None
    )


def test_a_quote_of_common_words_over_the_longest_answer_is_checked_in_linear_time():
    # 12,500 occurrences of each fragment: trying every combination took 43 s; the check is linear.
    answer = ("the " * 12_500)[:50_000]
    started = time.perf_counter()
    assert evidence.problem("the ... the ... zzz", answer, SUPPORTS) == "does not occur in the answer"
    assert evidence.problem("the ... the ... the", answer, SUPPORTS).startswith("is too short")
    assert time.perf_counter() - started < 2.0  # ~60 ms here: the margin is for a loaded machine


def test_a_long_quote_is_cut_to_the_length_the_prompt_asks_for(cli, endpoint):
    quotes = list(QUOTES)
    quotes[1] = ANSWER[: ANSWER.index("Both averages")].strip()  # a true quote of ~250 characters
    endpoint.mock(return_value=completion(reply(evidence=quotes)))
    _, grade = practice_json(cli)
    shown = grade["key_points"][1]["evidence"]
    assert len(quotes[1]) > 200 and len(shown) == 200 and shown.endswith("\u2026")
    assert "at most 200 characters" in sent(endpoint)["messages"][0]["content"]
