"""The offline grader against labelled answers, and the cases it must not get wrong.

Three kinds of labelled sets ship in `interviewer/calibration/` (see their headers):
- answers.toml: the bank's terms were tuned on its even-position half; the odd half is held out.
- checks.toml: a requirement set, tuned against: textbook phrasings of every question that must
  score 8 or more with no error, and term lists, glued term lists, negations and swapped
  definitions for every question that must score 2 or less.
- voices.toml: a development set in candidates' varied voices (terse notes, non-native English,
  analogies), tuned against.
- swaps.toml: a development set of adversarial answers (three swapped definitions, two glued
  term lists and a negation per question), tuned against.
- bank-<topic>.toml: one per topic added after the source document, six answers per question
  (strong, partial, wrong, twice; the second of each is held out) and the four adversarial kinds
  for a third of the questions (tuned against).
- adversarial.toml: the four adversarial kinds for each of the 73 questions that had none,
  written by interviewers who saw neither the grader's terms nor its output; measured once as
  written (86 of 292 over 2), then tuned against.
- adversarial-source.toml: three swapped definitions and three glued lists for each of the 34
  source questions, written the same way; measured once as written (86 of 204 over 2), then tuned
  against.
- contrasts.toml: a correct answer per question in the constructions that tempt a false error
  ("Unlike L1, L2 ..."), written blind; measured once as written, then tuned against.
- fluent-swaps.toml: two swapped answers in fluent prose for each of the first 76 questions,
  written blind; measured once as written (94 of 152 over 2), then tuned against.
- fluent-pairs.toml: a swapped and a strong answer in fluent prose for every question, written
  blind; measured once as written (46 of 152 swapped over 2, 5 strong told of an error), then
  tuned against.
- spoken.toml: a correct answer per question in a spoken style (pitfalls, what not to do, what a
  wrong choice would cause), written blind; measured once as written (8 of 152 told of an error),
  then tuned against.
- short.toml: two short correct answers per question (one dense sentence, one terse note),
  written blind; measured once as written (12 of 304 told of an error, 28 held to 2 as a list),
  then tuned against.
- glued-verbs.toml: two answers per question that string its terms on vague verbs ("involves",
  "leverages", "plays a role in"), written blind; measured once as written (166 of 304 over 2),
  then tuned against, with vague-correct.toml (a correct answer per question around such verbs)
  as the guard for false list caps and lost credit.
- typed.toml: a strong and a partial correct answer per question as candidates type them
  (instructions, correct negations and warnings, time spans, pronouns, shorthand), written blind;
  measured once as written (5 of 304 told of an error, 10 held to 2 as a list), then tuned against.
- unseen.toml, blind.toml, fluent-swaps-held-out.toml and glued-verbs-held-out.toml: written by
  other interviewers and never
  tuned against; they measure how the grader generalises, so they hold it to floors only and
  their figures are printed as they are.
"""

import tomllib

import pytest

from interviewer import resources
from interviewer.calibrate import ADVERSARIAL_KINDS, band, quadratic_kappa, share_within, spearman
from interviewer.grading import text
from interviewer.grading.model import Verdict
from interviewer.grading.offline import COULD_NOT_TELL, LIST_CAP, LIST_REASON, OfflineGrader

grader = OfflineGrader()
CORRECT = {"strong", "textbook", "correct"}
TUNED = ("answers.toml", "checks.toml", "voices.toml", "swaps.toml")  # the sets the bank may be tuned on
TOPIC_SETS = tuple(sorted(p.name for p in resources.calibration_dir().glob("bank-*.toml")))
# Adversarial answers for the questions that had none, and swapped definitions and glued lists for
# the source document's questions, written blind, then tuned against.
ADVERSARIAL = "adversarial.toml"
ADVERSARIAL_SOURCE = "adversarial-source.toml"
CONTRASTS = "contrasts.toml"
# Swapped answers in fluent prose: a development set and a held-out one, on different questions.
FLUENT = "fluent-swaps.toml"
FLUENT_HELD_OUT = "fluent-swaps-held-out.toml"
# A swapped and a strong answer for every question, in fluent prose: a development set.
FLUENT_PAIRS = "fluent-pairs.toml"
SPOKEN = "spoken.toml"  # correct answers in a spoken style: a development set for false errors
SHORT = "short.toml"  # short correct answers, a dense sentence and a terse note: the same, and for list caps
GLUED_VERBS = "glued-verbs.toml"  # terms strung on vague verbs ("involves", "leverages"): a development set
GLUED_VERBS_HELD_OUT = "glued-verbs-held-out.toml"  # the same, written after the tuning: never tuned
VAGUE_CORRECT = "vague-correct.toml"  # correct answers around vague verbs: the guard for their rules
TYPED = "typed.toml"  # correct answers as typed, strong and partial: a development set for false errors
# How many of them score over 2 (see the README): the development set's figure once tuned, and the
# held-out set's as first measured, before the bank's inversions. More means a change made the
# grader worse at what it is weakest at.
FLUENT_OVER_2 = {FLUENT: 1, FLUENT_PAIRS: 0, FLUENT_HELD_OUT: 117}
# The held-out half's figures before issue 8 (Spearman, quadratic-weighted kappa on answers rounded
# half up, share within one point): the grader's changes must not lower them.
HELD_OUT_BEFORE = (0.8471, 0.8638, 0.6133)


def _load(name):
    return tomllib.loads((resources.calibration_dir() / name).read_text(encoding="utf-8"))["answers"]


@pytest.fixture(scope="module")
def graded(builtin_bank):
    """Every shipped set's answers with their offline grades, by set name."""
    return {
        name: [(a, grader.grade(builtin_bank.get(a["question"]), a["text"])) for a in _load(name)]
        for name in (
            *TUNED,
            *TOPIC_SETS,
            ADVERSARIAL,
            ADVERSARIAL_SOURCE,
            CONTRASTS,
            FLUENT,
            FLUENT_PAIRS,
            SPOKEN,
            SHORT,
            GLUED_VERBS,
            VAGUE_CORRECT,
            TYPED,
            FLUENT_HELD_OUT,
            GLUED_VERBS_HELD_OUT,
            "unseen.toml",
            "blind.toml",
        )
    }


def _tuned_and_held_out(rows):
    seen, tuned, held = {}, [], []
    for answer, grade in rows:
        seen[answer["question"]] = seen.get(answer["question"], -1) + 1
        (held if seen[answer["question"]] % 2 else tuned).append((answer, grade))
    return tuned, held


def _topic_halves(rows):
    """A topic set's tuned and held-out halves: each question's 2nd, 4th and 6th answers are held
    out; its adversarial answers are all tuned against."""
    seen, tuned, held = {}, [], []
    for answer, grade in rows:
        seen[answer["question"]] = seen.get(answer["question"], -1) + 1
        odd = seen[answer["question"]] % 2
        (held if odd and answer["kind"] not in ADVERSARIAL_KINDS else tuned).append((answer, grade))
    return tuned, held


def agreement(rows):
    human = [a["score"] for a, _ in rows]
    ours = [g.score for _, g in rows]
    return spearman(human, ours), quadratic_kappa(human, [band(s) for s in ours]), share_within(human, ours)


def _report(name, rows):
    rho, kappa, within = agreement(rows)
    adversarial = [(a, g) for a, g in rows if a["kind"] in ADVERSARIAL_KINDS]
    over = sum(g.score > 2 for _, g in adversarial)
    print(
        f"\n{name}: n={len(rows)} spearman={rho:.3f} qwk={kappa:.3f} within±1={within:.1%} "
        f"adversarial over 2: {over}/{len(adversarial)}"
    )
    return rho, kappa, within


def test_the_requirement_set_covers_every_source_question_and_kind(graded, source_questions):
    kinds = {}
    for answer, _ in graded["checks.toml"]:
        kinds.setdefault(answer["question"], []).append(answer["kind"])
    assert set(kinds) == {q.id for q in source_questions}
    for per_question in kinds.values():
        assert per_question.count("textbook") == 2
        assert {"keywords", "glued", "negation", "swapped"} <= set(per_question)


def test_every_question_beyond_the_source_has_labelled_answers(graded, builtin_bank, source_questions):
    kinds: dict[str, list[str]] = {}
    for name in TOPIC_SETS:
        for answer, _ in graded[name]:
            kinds.setdefault(answer["question"], []).append(answer["kind"])
    source = {q.id for q in source_questions}
    for question in builtin_bank.questions:
        if question.id not in source:
            labelled = kinds.get(question.id, [])
            assert all(labelled.count(k) >= 2 for k in ("strong", "partial", "wrong")), question.id


def test_the_held_out_half_of_each_new_topic_is_measured_as_it_is(graded):
    """Printed per topic, misses included; floors only, as for the sets never tuned against."""
    for name in TOPIC_SETS:
        tuned, held = _topic_halves(graded[name])
        _report(f"{name}, tuned half", tuned)
        rho, _, _ = _report(f"{name}, held-out half", held)
        errors = sum(bool(g.errors) for a, g in held if a["kind"] == "strong")
        print(f"  strong answers of the held-out half given an error: {errors}")
        assert rho >= 0.6


def test_the_held_out_half_agrees_at_least_as_well_as_before(graded):
    tuned, held = _tuned_and_held_out(graded["answers.toml"])
    _report("answers.toml, tuned half", tuned)
    rho, kappa, within = _report("answers.toml, held-out half", held)
    assert rho >= HELD_OUT_BEFORE[0] and kappa >= HELD_OUT_BEFORE[1] and within >= HELD_OUT_BEFORE[2]


def test_textbook_answers_and_references_score_8_with_no_error(graded, builtin_bank):
    low = [
        (a["question"], g.score, [e.text for e in g.errors])
        for a, g in graded["checks.toml"]
        if a["kind"] == "textbook" and (g.score < 8 or g.errors)
    ]
    for question in builtin_bank.questions:
        grade = grader.grade(question, question.reference)
        if grade.score < 8 or grade.errors:
            low.append((question.id, grade.score, [e.text for e in grade.errors]))
    assert low == []


def test_no_correct_answer_or_reference_sentence_is_told_it_is_wrong(graded, builtin_bank):
    """The worst thing a grader can do: report an error in a correct statement."""
    rows = [row for name in (*TUNED, CONTRASTS, FLUENT_PAIRS, SPOKEN, SHORT) for row in graded[name]]
    rows += [row for name in TOPIC_SETS for row in _topic_halves(graded[name])[0]]
    wrong = [
        (a["question"], [e.text for e in g.errors]) for a, g in rows if a["kind"] in CORRECT and g.errors
    ]
    for question in builtin_bank.questions:
        for sentence in text.split_sentences(question.reference):
            grade = grader.grade(question, sentence.text)
            if grade.errors:
                wrong.append((question.id, [e.text for e in grade.errors]))
    assert wrong == []


def test_no_correct_answer_is_called_a_list_of_terms(graded):
    """Correct answers that enumerate ("for data: schema, types, ranges, null rates") explain
    around their lists; capping them as glued terms would tell the candidate something false."""
    rows = [row for name in (*TUNED, CONTRASTS, SPOKEN, FLUENT_PAIRS) for row in graded[name]]
    rows += [row for name in TOPIC_SETS for row in _topic_halves(graded[name])[0]]
    capped = [(a["question"], g.score) for a, g in rows if a["kind"] in CORRECT and g.cap == LIST_CAP]
    assert capped == []


# Short correct answers of short.toml still held to 2 as a list of terms, by style: a dense sentence
# in constructions text.predications does not read ("RNNs read the sequence ...", "Each token is
# projected into ..."), and notes of "X: Y" and "X = Y" whose relations are symbols. Measured, not
# tuned away; more means a change made it worse. (19 and 9 before predications read the steps of a
# procedure, modals, qualifying adverbs and relative clauses after a comma.)
SHORT_LIST_CAPS = {"dense": 7, "terse": 7}


def test_short_correct_answers_held_to_2_as_lists_are_counted(graded):
    capped = {"dense": 0, "terse": 0}
    for a, g in graded[SHORT]:
        capped[a["style"]] += g.cap_reason == LIST_REASON
    print(f"\nshort.toml held to 2 as a list of terms: {capped}")
    assert all(capped[style] <= SHORT_LIST_CAPS[style] for style in capped)


# Terms strung on vague verbs that still score over 2: answers padded with sentences that name
# nothing ("Cold start is something every recommender has to face"), lists whose items are
# descriptions rather than names, and verbs the vague relations do not hold. Measured, not tuned
# away; more means a change made it worse. (166 of 304 as written.)
GLUED_VERBS_OVER_2 = 73


def test_terms_strung_on_vague_verbs_are_measured(graded):
    rows = graded[GLUED_VERBS]
    print(f"\n{GLUED_VERBS}: question, label, offline score")
    for answer, grade in rows:
        print(f"  {answer['question']:45} {answer['score']:>2} {grade.score:>4}")
    assert len(rows) == 304 and {a["kind"] for a, _ in rows} == {"glued"}
    over = sum(grade.score > 2 for _, grade in rows)
    print(f"{GLUED_VERBS}: {over} of {len(rows)} over 2")
    assert over <= GLUED_VERBS_OVER_2


def test_correct_answers_around_vague_verbs_keep_their_credit(graded):
    """The vague-relation rules doubt only lists of names hung on such a verb: a correct answer that
    says "backprop relies on the chain rule: it multiplies ..." keeps its points."""
    rows = graded[VAGUE_CORRECT]
    assert len(rows) == 152 and {a["kind"] for a, _ in rows} == {"strong"}
    capped = [a["question"] for a, g in rows if g.cap == LIST_CAP]
    told = [(a["question"], [e.text for e in g.errors]) for a, g in rows if g.errors]
    under_8 = sum(g.score < 8 for _, g in rows)
    print(f"\n{VAGUE_CORRECT}: capped as lists {capped}; told of an error {told}; {under_8} under 8")
    assert capped == ["data/data-validation"]  # notes of "X: a, b, c" (1 before the rules too)
    assert told == []  # "the squared singular values relate to the variances" was "are the variances"
    assert under_8 <= 10  # 7 before the rules


# Correct typed answers still held to 2 as a list of terms: a one-sentence comparison of three
# functions ("sigmoid outputs between 0 and 1 and tanh between -1 and 1"), definitions chained on
# "is" ("type I is a false positive and type II is a false negative, power is ..."), a formula note,
# and sentences whose verbs follow "you" or a plural noun ("so you sample unobserved items",
# "subwords split rare words"), which the list measure does not read as verbs. Measured, not tuned
# away; more means a change made it worse. (10 as written.)
TYPED_LIST_CAPS = 7


def test_typed_correct_answers_are_told_of_no_error(graded):
    rows = graded[TYPED]
    assert len(rows) == 304 and {a["kind"] for a, _ in rows} == {"strong", "partial"}
    told = [(a["question"], [e.text for e in g.errors]) for a, g in rows if g.errors]
    capped = [(a["question"], a["kind"]) for a, g in rows if g.cap_reason == LIST_REASON]
    print(f"\n{TYPED}: told of an error {told}; held to 2 as lists {capped}")
    assert told == []
    assert len(capped) <= TYPED_LIST_CAPS
    h, o = zip(*((a["score"], g.score) for a, g in rows), strict=True)
    assert spearman(list(h), list(o)) >= 0.85  # 0.839 as written


# Adversarial answers of the tuned sets that the grader still scores over 2, each named by set,
# question, kind and which of that question's answers of that kind it is; grouped by why. The test
# fails when one starts passing too, so the list stays true.
KNOWN_MISSES = {
    # A swapped effect inside a condition with no comma between the condition and its effect ("if
    # the learning rate is too small the loss explodes"): a condition counts as a claim only where
    # the misconception is split between the condition and the clause after it, since "if you tuned
    # on the test set, the score would be biased" is a right answer.
    ("voices.toml", "optimization/learning-rate", "swapped", 1),
    # A neuron as a layer ("it multiplies the input by a weight matrix ... many neurons stacked, each
    # with its own matrix"): the words are those of a right answer about a layer, and "a neuron is a
    # layer" reads as "a neuron in a layer" once stop words go, so no misconception fires on it.
    ("swaps.toml", "neural-networks/neuron", "swapped", 1),
    # Terms glued casually with few glue words, the rest prepositions that prose uses as much ("it's
    # all about SMOTE and class weights with focal loss on the PR-AUC threshold, undersampling the
    # stratified majority after the split"): counting "on" or "after" as glue caps strong answers.
    ("voices.toml", "transfer-learning/finetuning-lr", "glued", 1),
    ("voices.toml", "practical/imbalanced-classes", "glued", 1),
    # Terse notes grouped under each metric: one interviewer's keyword list (labelled 2), another
    # interviewer's strong answer in the same style (voices.toml, confusion matrix, labelled 10).
    ("checks.toml", "evaluation/accuracy-f1-auc", "keywords", 1),
    # adversarial.toml, 11 of 292 (86 when first measured, as written; 15 until a question stopped
    # counting as a claim). Negations whose denials the grader does not read as denials: "is
    # perfectly fine", "is a waste of time", "isn't a reason to avoid", "is never really enough",
    # "doesn't drown anything", "is not about".
    (ADVERSARIAL, "classical-ml/linear-coefficients", "negation", 1),
    (ADVERSARIAL, "classical-ml/tabular-model-choice", "negation", 1),
    (ADVERSARIAL, "data/outliers", "negation", 1),
    (ADVERSARIAL, "nlp-llms/hallucination", "negation", 1),
    (ADVERSARIAL, "computer-vision/data-augmentation", "negation", 1),
    (ADVERSARIAL, "computer-vision/conv-arithmetic", "negation", 1),
    (ADVERSARIAL, "recommender-systems/negative-sampling", "negation", 1),
    (ADVERSARIAL, "ml-system-design/when-not-to-use-ml", "negation", 1),
    (ADVERSARIAL, "ml-system-design/fraud-detection", "negation", 1),
    # Terse notes where "by" reads as a relating word ("λ and l1_ratio by CV"), and a short glued
    # sentence of formula letters ("the output size from W with K, P and S").
    (ADVERSARIAL, "classical-ml/regularized-linear", "keywords", 1),
    (ADVERSARIAL, "computer-vision/conv-arithmetic", "glued", 1),
    # adversarial-source.toml, 10 of 204 (86 when first measured, as written). Chatty lists whose
    # fillers read as relating words ("so it's sort of mean, variance, mini-batch, gamma, beta, ...,
    # that's batch norm in a nutshell I guess"), or vague relations with words the list measure does
    # not know ("Self-attention has queries and keys").
    (ADVERSARIAL_SOURCE, "regularization/batch-norm", "glued", 3),
    (ADVERSARIAL_SOURCE, "regularization/l1-vs-l2", "glued", 3),
    (ADVERSARIAL_SOURCE, "regularization/early-stopping", "glued", 3),
    (ADVERSARIAL_SOURCE, "neural-networks/activation-functions", "glued", 3),
    (ADVERSARIAL_SOURCE, "architectures/self-attention", "glued", 2),
    (ADVERSARIAL_SOURCE, "transfer-learning/pretraining-vs-finetuning", "glued", 3),
    (ADVERSARIAL_SOURCE, "practical/high-training-loss", "glued", 3),
    (ADVERSARIAL_SOURCE, "practical/first-model", "glued", 3),
    # Swapped answers with one error reported but not fatal (a wrong effect, not what the thing is:
    # "ReLU causes vanishing gradients"), and a claim split from its subject by a colon
    # ("micro-averaged F1: it weights each class equally" is macro's right definition).
    (ADVERSARIAL_SOURCE, "optimization/vanishing-gradients", "swapped", 3),
    (ADVERSARIAL_SOURCE, "evaluation/imbalanced-evaluation", "swapped", 3),
}


def test_every_answer_built_to_game_the_grader_scores_at_most_2(graded):
    print("\nadversarial answers (tuned sets): set, question, kind, label, offline score")
    too_high = set()
    for name in (*TUNED, *TOPIC_SETS, ADVERSARIAL, ADVERSARIAL_SOURCE):
        seen: dict[tuple[str, str], int] = {}
        for answer, grade in graded[name]:
            key = (answer["question"], answer["kind"])
            seen[key] = seen.get(key, 0) + 1
            if answer["kind"] in ADVERSARIAL_KINDS:
                print(
                    f"  {name:12} {answer['question']:40} {answer['kind']:9} {answer['score']:>2} {grade.score:>4}"
                )
                if grade.score > 2:
                    too_high.add((name, *key, seen[key]))
    assert too_high == KNOWN_MISSES


def test_swapped_answers_in_fluent_prose_are_measured(graded):
    """The offline grader's weakest case: every answer's score is printed, and the count over 2 may
    not grow."""
    for name in (FLUENT, FLUENT_PAIRS, FLUENT_HELD_OUT):
        swapped = [(a, g) for a, g in graded[name] if a["kind"] == "swapped"]
        print(f"\n{name}: question, label, offline score")
        for answer, grade in swapped:
            print(f"  {answer['question']:45} {answer['score']:>2} {grade.score:>4}")
        assert len(swapped) == 152
        over = sum(grade.score > 2 for _, grade in swapped)
        print(f"{name}: {over} of {len(swapped)} over 2")
        assert over <= FLUENT_OVER_2[name]


def test_the_sets_never_tuned_against_are_measured_as_they_are(graded):
    """Their figures, misses included, are printed as they are; they hold the grader to floors only.
    Tuning the bank against them would void them."""
    for name in ("unseen.toml", "blind.toml"):
        rho, _, _ = _report(name, graded[name])
        assert rho >= 0.6


def test_evidence_is_quoted_from_the_answer(graded):
    for answer, grade in [row for name in TUNED for row in graded[name]]:
        for kp in grade.key_points:
            if kp.evidence:
                assert kp.evidence.rstrip("…") in answer["text"], (answer["question"], kp.evidence)


def test_grading_is_deterministic(graded, builtin_bank):
    for answer, grade in graded["checks.toml"][:60]:
        again = grader.grade(builtin_bank.get(answer["question"]), answer["text"])
        assert again.model_dump(exclude={"latency_ms"}) == grade.model_dump(exclude={"latency_ms"})


# --- the cases issue 8 reported -------------------------------------------------------------------


def test_a_correct_definition_is_not_reported_as_the_swapped_one(builtin_bank):
    grade = grader.grade(
        builtin_bank.get("evaluation/precision-recall"),
        "Precision is the fraction of predicted positives that are actually positive, TP/(TP+FP). "
        "Recall is the fraction of actual positives the model finds, TP/(TP+FN).",
    )
    assert grade.errors == []
    assert [kp.verdict for kp in grade.key_points[:2]] == [Verdict.covered, Verdict.covered]


def test_the_swapped_definition_is_reported_and_earns_nothing(builtin_bank):
    grade = grader.grade(
        builtin_bank.get("evaluation/precision-recall"),
        "Precision is the fraction of actual positives that the model finds. "
        "Recall is the fraction of predicted positives that are correct.",
    )
    assert len(grade.errors) == 2 and all(e.why for e in grade.errors)
    assert [kp.verdict for kp in grade.key_points[:2]] == [Verdict.missing, Verdict.missing]
    assert grade.score <= 2


def test_a_wrong_statement_is_evidence_for_nothing_and_an_error_the_candidate_can_read(builtin_bank):
    question = builtin_bank.get("regularization/batch-norm")
    grade = grader.grade(
        question,
        "At test time you just compute the mean and variance of the test batch and normalize with those. "
        "It works because it removes internal covariate shift completely.",
    )
    assert all(kp.verdict is Verdict.missing for kp in grade.key_points), grade.key_points
    assert len(grade.errors) == 2
    assert all(e.why and e.evidence for e in grade.errors)


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("evaluation/accuracy-f1-auc", "Accuracy is always the best metric."),
        ("evaluation/accuracy-f1-auc", "AUC is for regression."),
        (
            "regularization/batch-norm",
            "At inference batch norm uses the statistics of the current test batch.",
        ),
        ("neural-networks/relu-sigmoid-tanh", "Sigmoid outputs values between -1 and 1."),
        ("regularization/l1-vs-l2", "L2 regularization drives weights to exactly zero."),
        ("regularization/l1-vs-l2", "L1 is the mean absolute error of the model's predictions."),
        (
            "neural-networks/backpropagation",
            "Backpropagation gets the gradient by nudging each weight and running the forward pass again.",
        ),
        ("neural-networks/neuron", "A neuron has a weight matrix and produces a vector of outputs."),
    ],
)
def test_a_wrong_claim_the_bank_knows_of_is_an_error(builtin_bank, question, claim):
    grade = grader.grade(builtin_bank.get(question), claim)
    assert grade.errors and all(e.why for e in grade.errors), claim


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "fundamentals/bias-variance",
            "The bias-variance trade-off is underfitting and overfitting with model complexity, "
            "regularization, irreducible noise and the expected test error of ensembles",
        ),
        (
            "neural-networks/relu-sigmoid-tanh",
            "Sigmoid outputs values between -1 and 1 and tanh outputs between 0 and 1, and ReLU outputs "
            "max(0, x). Sigmoid is zero-centred, which makes optimisation easier, while tanh is not.",
        ),
        (
            "regularization/dropout",
            "random, zero, neurons, ensemble, co-adaptation, inverted dropout, scale, 1/(1-p), inference",
        ),
        (
            "regularization/dropout",
            "Dropout does not drop units at random and it is not like an ensemble; it does not reduce "
            "co-adaptation.",
        ),
        (
            "optimization/gradient-descent",
            "Gradient descent does not move the parameters against the gradient of the loss.",
        ),
        (
            "regularization/dropout",
            "What's dropout? Why does dropout prevent overfitting? Dropout prevents overfitting.",
        ),
        (
            "regularization/dropout",
            "Gradient boosting builds trees one after another, each fitting the residuals.",
        ),
        (
            "regularization/batch-norm",
            "Batch norm is basically all about the mini-batch mean and variance on each layer, where gamma "
            "and beta meet the running averages at inference time.",
        ),
        ("regularization/dropout", "I don't know."),
        ("regularization/dropout", "   \n\t"),
        (
            "regularization/dropout",
            "Dropout doesn't randomly zero units during training. It has nothing to do with co-adaptation. "
            "Averaging an ensemble of sub-networks is not what it does. Switching it off at inference is not "
            "what happens, and the kept activations are never rescaled during training.",
        ),
        (
            "optimization/adam",
            "Is it about momentum? Maybe RMSProp? Bias correction? Per-parameter learning rates? Epsilon?",
        ),
        (
            "evaluation/precision-recall",
            "precision recall precision recall TP FP FN threshold tradeoff F1 harmonic mean PR curve",
        ),
        (
            "regularization/batch-norm",
            "Batch normalization. Mini-batch mean. Mini-batch variance. Normalize. Gamma. Beta. Running "
            "averages. Inference. Higher learning rates. Faster training.",
        ),
    ],
    ids=[
        "glued",
        "swapped",
        "term-list",
        "negated",
        "negated-far",
        "echo",
        "off-topic",
        "glued-meets",
        "dont-know",
        "blank",
        "denials",
        "questions",
        "unpunctuated",
        "fragments",
    ],
)
def test_answers_without_substance_score_at_most_2(builtin_bank, question, answer):
    assert grader.grade(builtin_bank.get(question), answer).score <= 2


def test_a_question_claims_nothing_but_a_claim_with_a_tag_does(builtin_bank):
    question = builtin_bank.get("regularization/dropout")
    asked = grader.grade(
        question, "Does dropout zero units at random during training? Is it off at inference?"
    )
    told = grader.grade(
        question, "Dropout zeroes units at random during training, right? It's off at inference."
    )
    assert [v.verdict for v in asked.key_points].count("covered") == 0
    assert [v.verdict for v in told.key_points].count("covered") >= 2


def test_a_negation_beyond_reach_withholds_credit_and_says_why(builtin_bank):
    grade = grader.grade(
        builtin_bank.get("optimization/gradient-descent"),
        "It is not the case that the parameters are updated against the gradient.",
    )
    assert not grade.errors  # too far to be sure it is denied: no credit, and no error
    assert any((kp.why or "").startswith(COULD_NOT_TELL) for kp in grade.key_points)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "practical/overfitting-remedies",
            "It's overfitting: get more data, add dropout or weight decay, stop early. More data won't help "
            "if the split is broken, though.",
        ),
        (
            "fundamentals/data-splits",
            "If you tuned your hyperparameters on the test set, its score would be biased.",
        ),
        (
            "optimization/adam",
            "Adam keeps a moving average of the gradient for each weight and of its square.",
        ),
        (
            "optimization/gradient-descent",
            "The gradient points uphill, so we take a small step the other way.",
        ),
        (
            "architectures/cnn-vs-fc",
            "Real CNNs are not fully shift-invariant: pooling gives only some invariance.",
        ),
        ("transfer-learning/finetuning-lr", "The new head needs a large learning rate, not a small one."),
        (
            "neural-networks/neuron",
            "Every neuron in the layer computes a weighted sum of its inputs plus a bias and applies an activation.",
        ),
        (
            "neural-networks/backpropagation",
            "Backprop is exact and far cheaper than computing each gradient with finite differences.",
        ),
        (
            "regularization/l1-vs-l2",
            "A common mistake is to think that L2 drives weights to exactly zero; it is L1 that does.",
        ),
        ("regularization/l1-vs-l2", "Some people think L2 drives weights to exactly zero, which is wrong."),
        ("nlp-llms/llm-evaluation", "Exact match is useless for creative writing tasks."),
        (
            "fundamentals/data-splits",
            "It's a mistake to skip the test set: you need an unbiased final estimate.",
        ),
        (
            "fundamentals/data-splits",
            "Skipping the test set is a mistake, since you need an unbiased estimate.",
        ),
        ("fundamentals/data-splits", "Some teams skip the test set, which is a mistake."),
        (
            "regularization/l1-vs-l2",
            "L2 shrinks all weights smoothly toward zero, whereas with an absolute-value penalty many "
            "weights go exactly to zero, giving sparse models.",
        ),
        (
            "fundamentals/data-splits",
            "Tuning hyperparameters on the test set would make the final estimate optimistic.",
        ),
        (
            "regularization/dropout",
            "Keeping dropout on at inference time would make predictions random, so it is turned off.",
        ),
        (
            "unsupervised/dbscan",
            "DBSCAN grows clusters from dense core points. I'd prefer it to k-means when clusters have "
            "arbitrary shapes, when I don't know k, and when I want outliers labelled as noise.",
        ),
        (
            "computer-vision/transfer-small-dataset",
            "Fine-tuning everything at a high learning rate from the start would destroy the pretrained features.",
        ),
        # short.toml's false errors, as written:
        (
            "fundamentals/ml-vs-dl",
            "DL = subset of ML using deep neural nets; it learns features itself vs hand-engineered features "
            "in classical ML.",
        ),
        (
            "data/feature-scaling",
            "Distance- and gradient-based models (kNN, k-means, SVM, PCA, neural nets) need scaling, while trees "
            "don't because threshold splits ignore monotonic rescaling, and you fit the scaler on training data only.",
        ),
        (
            "data/time-series-split",
            "Never shuffle or use plain k-fold, since that trains on the future; instead train on the past and "
            "test on later periods with walk-forward validation.",
        ),
        (
            "data/feature-selection",
            "Do selection inside each CV fold, not before. Don't trust impurity importance (favours "
            "high-cardinality) -> use permutation importance on held-out data.",
        ),
        # What is checked is not claimed: "double check there's no leakage".
        (
            "practical/overfitting-remedies",
            "That's overfitting. Get more data, add dropout or weight decay, and use early stopping. Also "
            "double check there's no leakage between the splits.",
        ),
        # Each value of a list with its own optimizer, not "Adam at 0.1".
        (
            "optimization/learning-rate",
            "I'd sweep on a log scale or do an lr range test, starting around 1e-3 for Adam or 0.1 for SGD "
            "with momentum.",
        ),
        # "Proportional to" is no "are".
        (
            "unsupervised/pca-svd",
            "Do the SVD of the centered data: the columns of V are the principal components and the squared "
            "singular values are proportional to the variances.",
        ),
        (
            "data/feature-selection",
            "Impurity importance favours high-cardinality features, so I'd prefer permutation importance on "
            "held-out data.",
        ),
        # A denial in a condition, and one that warns what not to do, agree with "safe only if the
        # label is unchanged: flips break digits".
        (
            "computer-vision/data-augmentation",
            "flips, random crops, rotations and color jitter, as long as they dont change the label, e.g. you "
            "cant flip digits or text",
        ),
        (
            "mlops/deployment-strategies",
            "shadow deployment runs the new model on a copy of live traffic and only logs its predictions, "
            "users never see them, so no risk",
        ),
        # The negation denies the improvement, not the epochs waited ("a few epochs" is the patience).
        (
            "regularization/early-stopping",
            "Monitor validation loss during training and stop when it hasn't improved for a few epochs, "
            "then restore the best checkpoint.",
        ),
    ],
    ids=[
        "condition",
        "supposition",
        "skipped-term",
        "gradient-uphill",
        "hedge",
        "contrast",
        "in-a-layer",
        "compared",
        "warned-against",
        "reported-belief",
        "judged",
        "a-mistake-to",
        "judged-after",
        "judged-after-which",
        "whereas-unnamed",
        "consequence",
        "consequence-dropout",
        "preferred-to",
        "consequence-two-concepts",
        "it-then-what-it-is-compared-with",
        "denial-before-because",
        "advice-never",
        "advice-dont",
        "negated-verb-then-its-time",
        "what-is-checked",
        "either-or-values",
        "proportional-to",
        "prefer-the-right-one",
        "a-condition-and-a-warning",
        "no-risk-of-one-strategy",
    ],
)
def test_a_right_statement_that_resembles_a_misconception_is_no_error(builtin_bank, question, answer):
    assert grader.grade(builtin_bank.get(question), answer).errors == []


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "neural-networks/network-depth",
            "If the training loss stays high, the network is too deep, so remove layers until it trains.",
        ),
        (
            "practical/high-training-loss",
            "If the loss oscillates or diverges, the learning rate is too low, so raise it.",
        ),
        (
            "optimization/learning-rate",
            "If it's too large, training is slow and gets stuck on plateaus.",
        ),
    ],
    ids=["diagnosis", "listed-condition", "effect"],
)
def test_a_condition_and_its_swapped_effect_are_an_error(builtin_bank, question, answer):
    grade = grader.grade(builtin_bank.get(question), answer)
    assert grade.errors and all(e.why for e in grade.errors)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "practical/high-training-loss",
            "If the loss plateaus or falls very slowly, the learning rate may be too low; if it oscillates "
            "or diverges, it is too high.",
        ),
        (
            "practical/high-training-loss",
            "Tune the learning rate both ways, since too low gives a slow crawl or plateau and too high "
            "gives noisy or diverging loss.",
        ),
        (
            "ml-system-design/drift-types",
            "Data drift is when the distribution of the inputs changes while the relationship to the label "
            "stays the same.",
        ),
    ],
    ids=["condition-right", "both-sides", "definition-with-when"],
)
def test_a_right_condition_and_effect_is_no_error(builtin_bank, question, answer):
    assert grader.grade(builtin_bank.get(question), answer).errors == []


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "regularization/batch-norm",
            "Batch norm normalizes activations with the mini-batch mean and variance, then applies a learned "
            "scale and shift. At inference it uses the running mean and variance of training instead of the "
            "batch statistics.",
        ),
        # One long correct sentence, dense with "of" and commas, as glued lists are: each was held
        # to 2 as "a list of terms" before text.predications.
        (
            "optimization/adam",
            "Adam combines momentum and RMSProp: it keeps a moving average of the gradient (first moment) "
            "and of its square (second moment), corrects both for their bias toward zero early on, and "
            "divides the step by the root of the second moment, so each weight gets its own adaptive step "
            "size.",
        ),
        (
            "regularization/l1-vs-l2",
            "L1 adds the sum of absolute values of the weights to the loss and drives many of them to "
            "exactly zero, giving sparse models and feature selection, while L2 adds the sum of squares and "
            "shrinks all weights smoothly toward zero without making them exactly zero.",
        ),
        (
            "regularization/l1-vs-l2",
            "L1 adds the absolute values of the weights to the loss and drives some of them to zero, while "
            "L2 adds their squares and shrinks them smoothly.",
        ),
        (
            "optimization/learning-rate",
            "The learning rate sets the size of each step of gradient descent: too large and the loss "
            "oscillates or diverges, too small and training crawls or stalls in a poor region, so it is "
            "tuned with a range test and usually decayed over the course of training with warmup at the "
            "start.",
        ),
        (
            "evaluation/precision-recall",
            "Precision is the fraction of predicted positives that are correct, recall the fraction of "
            "actual positives that are found, and raising the threshold usually increases precision at the "
            "cost of recall.",
        ),
        (
            "statistics/power",
            "Power is the probability of detecting a real effect of a given size; it goes up with more "
            "samples, a larger effect, lower variance or a higher alpha, and we usually aim for 80%.",
        ),
        (
            "computer-vision/nms",
            "Non-maximum suppression keeps the highest-scoring box and removes other boxes of the same class "
            "that overlap it with IoU above a threshold, then repeats.",
        ),
        # The steps of a procedure, told to the listener: each was held to 2 as a list before
        # text.predications read them.
        (
            "practical/imbalanced-classes",
            "Use class weights or resampling like SMOTE, evaluate with PR-AUC and recall instead of "
            "accuracy, and tune the decision threshold.",
        ),
        (
            "mlops/reproducibility",
            "Fix random seeds, version the data, code and config, pin dependencies in a lockfile or Docker "
            "image, and log everything with an experiment tracker.",
        ),
        # Steps hung on a vague verb say what is done.
        (
            "unsupervised/pca",
            "PCA involves centering the data, computing the covariance matrix, its eigenvectors and "
            "eigenvalues, and projecting onto the top components, which are orthogonal directions of "
            "maximum variance.",
        ),
        # One claim said unmistakably ("is approximately normal"), with little glue around it.
        (
            "statistics/clt",
            "The sample mean of many iid variables with finite variance is approximately normal regardless "
            "of the underlying distribution, with standard error sigma over root n.",
        ),
    ],
)
def test_dense_prose_is_no_glued_list(builtin_bank, question, answer):
    grade = grader.grade(builtin_bank.get(question), answer)
    assert grade.cap is None and grade.errors == [] and grade.score >= 5


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "optimization/adam",
            "Adam is the adaptive moment estimation of momentum with RMSProp, where the bias correction of "
            "the first moment meets the epsilon of the second moment, and it is the default of transformers "
            "with AdamW.",
        ),
        (
            "regularization/dropout",
            "Dropout is the random zeroing of units with probability p through inverted scaling of the "
            "activations, which is the ensemble of thinned subnetworks against co-adaptation at training "
            "time versus inference.",
        ),
        (
            "evaluation/precision-recall",
            "Precision and recall are the true positives of predicted positives and actual positives with "
            "the threshold of the PR curve, where F1 combines the harmonic mean of both.",
        ),
        # A list opened by a verb, by a word that is a verb as often as a noun, or padded with an
        # adverb that qualifies nothing.
        (
            "practical/imbalanced-classes",
            "Use class weights, SMOTE, PR-AUC, threshold, recall, precision, undersampling, focal loss.",
        ),
        (
            "practical/imbalanced-classes",
            "Train set, test set, sample weights, log loss, scale features, class weights, SMOTE, PR-AUC.",
        ),
        (
            "optimization/adam",
            "Adam is basically momentum and RMSProp with the first and second moments of bias correction "
            "giving adaptive per-parameter epsilon for sparse gradients and AdamW.",
        ),
    ],
)
def test_a_glued_list_that_says_what_one_thing_does_is_still_a_list(builtin_bank, question, answer):
    grade = grader.grade(builtin_bank.get(question), answer)
    assert grade.cap == LIST_CAP and grade.score <= 2


def test_a_counterfactual_denial_is_no_contradiction(builtin_bank):
    grade = grader.grade(
        builtin_bank.get("neural-networks/activation-functions"),
        "Without a non-linearity, every layer is an affine map and the stack collapses into one.",
    )
    assert grade.errors == []


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


def test_a_clause_naming_two_subjects_is_about_the_first(builtin_bank):
    """'The bias-variance trade-off is underfitting' credits neither bias nor variance."""
    grade = grader.grade(
        builtin_bank.get("fundamentals/bias-variance"),
        "The variance-bias balance is underfitting against overfitting.",
    )
    bias = next(kp for kp in grade.key_points if kp.point.startswith("Bias:"))
    assert bias.verdict is Verdict.missing


def test_swapped_l1_and_l2_earn_nothing(builtin_bank):
    grade = grader.grade(
        builtin_bank.get("regularization/l1-vs-l2"),
        "L1 adds the sum of squared weights and L2 adds the sum of absolute values. L2 is the one that drives "
        "weights to exactly zero, so it does feature selection, while L1 shrinks all weights smoothly.",
    )
    assert grade.score <= 1.5, [(k.point, k.verdict.value) for k in grade.key_points]


@pytest.mark.parametrize(
    ("question", "answer", "misconception"),
    [
        (
            "fundamentals/data-splits",
            "Tuning hyperparameters on the test set will work well enough.",
            "Hyperparameters can be tuned (or models selected) on the test set",
        ),
        (
            "fundamentals/data-splits",
            "We tune hyperparameters on the test set, which would be quick.",
            "Hyperparameters can be tuned (or models selected) on the test set",
        ),
        (
            "regularization/l1-vs-l2",
            "Contrary to what people think, L2 drives weights to exactly zero.",
            "L2 produces sparse weights / does feature selection",
        ),
        (
            "regularization/l1-vs-l2",
            "It is the opposite of what people think: L2 drives weights to exactly zero.",
            "L2 produces sparse weights / does feature selection",
        ),
    ],
    ids=["approved-consequence", "relative-clause", "contrary-to-belief", "opposite-of-belief"],
)
def test_a_framed_claim_is_still_the_candidate_s_claim(builtin_bank, question, answer, misconception):
    """What a claim would do, approved ("... will work well enough") or in a clause of its own
    ("..., which would be quick"), and a claim said against a belief ("contrary to what people
    think, X", "the opposite of what people think: X"), are the candidate's own claims."""
    assert misconception in [e.text for e in grader.grade(builtin_bank.get(question), answer).errors]


def test_a_loose_relation_is_no_identity_a_misconception_can_skip(builtin_bank):
    question = builtin_bank.get("unsupervised/pca-svd")
    wrong = "The singular values are the variances of the components."
    loose = "The squared singular values relate to the variances of the components."
    assert [e.text for e in grader.grade(question, wrong).errors] == [
        "The singular values themselves are the variances"
    ]
    assert grader.grade(question, loose).errors == []
