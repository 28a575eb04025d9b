"""The offline grader against answers labelled by an interviewer, and the cases it must not reward."""

import tomllib
from pathlib import Path

import pytest

from interviewer import resources
from interviewer.grading.model import Verdict
from interviewer.grading.offline import OfflineGrader

CALIBRATION = resources.calibration_dir() / "answers.toml"
ADVERSARIAL = {"keywords", "negation", "echo", "empty", "off-topic"}
grader = OfflineGrader()


def _ranks(values):
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def _pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return cov / (sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y)) ** 0.5


def spearman(x, y):
    return _pearson(_ranks(x), _ranks(y))


def quadratic_kappa(x, y, categories=11):
    """Cohen's kappa with quadratic weights for integer ratings 0..categories-1."""
    n = len(x)
    observed = [[0] * categories for _ in range(categories)]
    for a, b in zip(x, y, strict=True):
        observed[a][b] += 1
    hist_x = [sum(row) for row in observed]
    hist_y = [sum(observed[i][j] for i in range(categories)) for j in range(categories)]
    num = den = 0.0
    for i in range(categories):
        for j in range(categories):
            w = (i - j) ** 2 / (categories - 1) ** 2
            num += w * observed[i][j]
            den += w * hist_x[i] * hist_y[j] / n
    return 1 - num / den


@pytest.fixture(scope="module")
def graded(builtin_bank):
    answers = tomllib.loads(CALIBRATION.read_text())["answers"]
    return [(a, grader.grade(builtin_bank.get(a["question"]), a["text"])) for a in answers]


def test_the_calibration_set_is_what_the_issue_asks(graded, builtin_bank):
    kinds = {}
    for answer, _ in graded:
        kinds.setdefault(answer["question"], set()).add(answer["kind"])
    assert set(kinds) == {q.id for q in builtin_bank.questions}
    assert all({"strong", "partial", "wrong"} <= k for k in kinds.values())
    assert {a["kind"] for a, _ in graded} >= ADVERSARIAL


def agreement(graded):
    """Spearman, quadratic-weighted kappa and share within ±1 of the interviewer's scores."""
    human = [a["score"] for a, _ in graded]
    ours = [g.score for _, g in graded]
    return (
        spearman(human, ours),
        quadratic_kappa(human, [round(s) for s in ours]),
        sum(abs(h - o) <= 1 for h, o in zip(human, ours, strict=True)) / len(human),
    )


def held_out(graded):
    """Every other answer per question: the half the bank's terms were not tuned against."""
    seen, out = {}, []
    for answer, grade in graded:
        seen[answer["question"]] = seen.get(answer["question"], -1) + 1
        if seen[answer["question"]] % 2:
            out.append((answer, grade))
    return out


def test_offline_scores_rank_answers_as_an_interviewer_does(graded):
    for name, part in (("all", graded), ("held-out half", held_out(graded))):
        rho, kappa, within = agreement(part)
        print(
            f"\ncalibration, {name}: n={len(part)} spearman={rho:.3f} qwk={kappa:.3f} within±1={within:.1%}"
        )
        assert rho >= 0.75


def test_no_adversarial_answer_scores_above_2(graded):
    too_high = [
        (a["question"], a["kind"], g.score, a["text"][:60])
        for a, g in graded
        if a["kind"] in ADVERSARIAL and g.score > 2
    ]
    assert not too_high


def test_every_reference_answer_scores_high(builtin_bank):
    low = {q.id: grader.grade(q, q.reference).score for q in builtin_bank.questions}
    assert {qid: s for qid, s in low.items() if s < 8} == {}


def test_evidence_is_quoted_from_the_answer(graded):
    for answer, grade in graded:
        for kp in grade.key_points:
            if kp.evidence:
                assert kp.evidence.rstrip("…") in answer["text"], (answer["question"], kp.evidence)


def test_grading_is_deterministic(graded, builtin_bank):
    for answer, grade in graded[:40]:
        again = grader.grade(builtin_bank.get(answer["question"]), answer["text"])
        assert again.model_dump(exclude={"latency_ms"}) == grade.model_dump(exclude={"latency_ms"})


@pytest.mark.parametrize(
    ("text", "most"),
    [
        ("", 0),
        ("   \n\t", 0),
        ("I don't know.", 0),
        ("What's dropout? Why does dropout prevent overfitting? Dropout prevents overfitting.", 1),
        ("random, zero, neurons, ensemble, co-adaptation, inverted dropout, scale, 1/(1-p), inference", 2),
        ("Gradient boosting builds trees one after another, each fitting the residuals of the last.", 1),
        (
            "Dropout does not drop units at random and it is not like an ensemble; it does not reduce co-adaptation.",
            2,
        ),
    ],
    ids=["empty", "blank", "dont-know", "echo", "term-list", "off-topic", "negated"],
)
def test_answers_without_substance_score_at_most_2(builtin_bank, text, most):
    grade = grader.grade(builtin_bank.get("regularization/dropout"), text)
    assert grade.score <= most


def test_a_correct_answer_in_other_words_scores_high(builtin_bank):
    answer = (
        "While training we switch off a random subset of units on every step, each with probability p, so no "
        "unit can lean on particular partners; the network ends up learning redundant features. It is a bit "
        "like averaging an ensemble of many thinned sub-networks. In practice the kept activations are scaled "
        "up by 1/(1-p) during training, so at test time nothing is dropped and nothing needs rescaling."
    )
    grade = grader.grade(builtin_bank.get("regularization/dropout"), answer)
    assert grade.score >= 8, [(k.point, k.verdict) for k in grade.key_points]


def test_a_swapped_definition_is_an_error_not_credit(builtin_bank):
    grade = grader.grade(
        builtin_bank.get("fundamentals/overfitting-underfitting"),
        "Overfitting is when the model is too simple, so training loss is high and validation loss is high too. "
        "Underfitting is when the model memorizes the noise in the training set.",
    )
    assert grade.errors and grade.score <= 3
    assert all(kp.verdict is not Verdict.covered for kp in grade.key_points[:1])


def test_it_refers_to_the_subject_of_the_sentence_before(builtin_bank):
    question = builtin_bank.get("transfer-learning/pretraining-vs-finetuning")
    answer = (
        "Fine-tuning starts from the pretrained weights. It then trains on a small labelled dataset "
        "for the specific task."
    )
    verdicts = {kp.point: kp.verdict for kp in grader.grade(question, answer).key_points}
    about_finetuning = [p for p in verdicts if p.startswith("Fine-tuning adapts")]
    assert about_finetuning and verdicts[about_finetuning[0]] is Verdict.covered


def test_swapped_l1_and_l2_earn_nothing(builtin_bank):
    grade = grader.grade(
        builtin_bank.get("regularization/l1-vs-l2"),
        "L1 adds the sum of squared weights and L2 adds the sum of absolute values. L2 is the one that drives "
        "weights to exactly zero, so it does feature selection, while L1 shrinks all weights smoothly.",
    )
    assert grade.score <= 1.5, [(k.point, k.verdict.value) for k in grade.key_points]


def test_the_grader_generalises_to_a_set_it_was_never_tuned_on(builtin_bank):
    """The second set measures generalisation, so it holds the grader to ranking only. Its figures,
    misses included, are reported as they are; tuning the bank against it would void them."""
    answers = tomllib.loads((CALIBRATION.parent / "unseen.toml").read_text())["answers"]
    graded = [(a, grader.grade(builtin_bank.get(a["question"]), a["text"])) for a in answers]
    rho, kappa, within = agreement(graded)
    over = sum(1 for a, g in graded if a["kind"] in ADVERSARIAL and g.score > 2)
    adversarial = sum(1 for a, _ in graded if a["kind"] in ADVERSARIAL)
    print(
        f"\nunseen set: n={len(graded)} spearman={rho:.3f} qwk={kappa:.3f} within±1={within:.1%} "
        f"adversarial over 2: {over}/{adversarial}"
    )
    assert rho >= 0.75
