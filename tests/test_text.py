"""How the offline grader reads text: clauses, negation, spelling, term lists."""

import pytest

from interviewer.grading import text


def _negated(sentence: str, phrase: str) -> bool:
    s = text.split_sentences(sentence)[0]
    for clause in s.clauses:
        words = text.find_phrase(clause, text.phrase_keys(phrase))
        if words:
            return text.negator_of(s, words) is not None
    raise AssertionError(f"{phrase!r} not found in {sentence!r}")


@pytest.mark.parametrize(
    ("sentence", "phrase", "negated"),
    [
        ("Dropout does not prevent overfitting.", "prevent overfitting", True),
        ("It doesn't actually prevent overfitting.", "prevent overfitting", True),
        ("It does not work well on new data.", "new data", False),  # the negation is of "work well"
        ("It does not compare predictions with labels.", "predictions", True),
        ("Sigmoid is not zero-centred.", "not zero centered", False),  # the negation is the phrase's own
        ("It is not only a regularizer.", "regularizer", False),
        ("Use F1 rather than accuracy.", "accuracy", True),
        ("Use F1 instead of accuracy.", "accuracy", True),
        ("Networks learn non-linear patterns.", "patterns", False),
        ("Networks learn non-linear patterns.", "linear", True),
        ("Gradients do not vanish.", "gradients vanish", True),
    ],
)
def test_negation_reaches_what_it_denies(sentence, phrase, negated):
    assert _negated(sentence, phrase) is negated


def test_every_negator_compares_as_not():
    assert (
        text.phrase_keys("not overfit")
        == text.phrase_keys("won't overfit")
        == text.phrase_keys("without overfitting")
    )


def test_british_and_american_spellings_match():
    assert text.phrase_keys("normalisation of the centre") == text.phrase_keys("normalization of the center")


def test_and_splits_clauses_but_not_a_pair_of_names():
    pair = text.split_sentences("Sigmoid and tanh both saturate.")[0]
    assert len(pair.clauses) == 1
    claims = text.split_sentences("Overfitting means training loss is low and validation loss is high.")[0]
    assert len(claims.clauses) == 2


def test_hand_wrapped_lines_stay_one_sentence_but_bullets_do_not():
    assert len(text.split_sentences("Dropout drops units\nat random.")) == 1
    assert len(text.split_sentences("- drops units\n- averages an ensemble")) == 2


@pytest.mark.parametrize(
    ("answer", "is_list"),
    [
        ("momentum, RMSProp, bias correction, beta1, beta2", True),
        ("neural networks, many layers, representation learning, subset of machine learning", True),
        ("- weight sharing\n- local connectivity\n- pooling", True),
        ("Adam keeps a moving average of the gradient, which acts like momentum.", False),
        ("Overfitting: the model memorises noise, so validation loss rises.", False),
        # Relations that name no relation list terms too.
        ("Adam involves momentum and moments. It is related to RMSProp. Weight decay also matters.", True),
        (
            "A CNN involves kernels and stride. It relates to ReLU in some way. Pooling plays a role too.",
            True,
        ),
        ("Backprop involves the chain rule, applied from the loss back to each weight.", False),
        ("Dropout is about co-adaptation: units cannot rely on each other, so features are robust.", False),
    ],
)
def test_a_bare_list_of_terms_is_told_from_an_explanation(answer, is_list):
    share = text.explained_share(text.split_sentences(answer))
    assert (share < 0.15) is is_list, share


@pytest.mark.parametrize(
    ("sentence", "phrase", "denied"),
    [
        ("Gradient descent does not move the parameters against the gradient.", "against gradient", True),
        ("It is not suited to images, text or audio.", "audio", True),  # a listed item inherits it
        ("It is not only a regularizer.", "regularizer", False),
        ("Sigmoid is not zero-centred, while tanh is zero-centred.", "tanh", False),  # another clause
        ("The learning rate has nothing to do with the step size.", "step size", True),
        ("Averaging an ensemble of sub-networks is not what it does.", "ensemble", True),  # closes it
        ("Adding more data won't help if the model underfits.", "more data", False),
    ],
)
def test_a_negation_earlier_in_the_clause_may_deny_beyond_its_reach(sentence, phrase, denied):
    s = text.split_sentences(sentence)[0]
    spoken_for: set[int] = set()
    for clause in s.clauses:
        words = text.find_phrase(clause, text.phrase_keys(phrase))
        if words:
            near = text.negator_of(s, words) is not None
            assert (near or text.denied_in_clause(s, words, spoken_for)) is denied
            return
    raise AssertionError(f"{phrase!r} not found in {sentence!r}")


def test_words_as_the_grader_compares_them():
    keys = [
        w.key
        for s in text.split_sentences("L1's penalty is sparse, whether it overfits or not.")
        for w in s.words
    ]
    assert keys[0] == "l1"  # a possessive is its noun
    assert keys.count(text.NOT) == 0  # "or not" denies nothing
    assert [w.key for w in text.split_sentences("L2 rarely does.")[0].words][1] == text.NOT
    # A colon, a spaced dash and a line break end a clause; a hyphen does not.
    clauses = [
        [w.plain for w in c]
        for s in text.split_sentences("Batch GD: one update per epoch - exact co-adaptation\nsgd: noisy")
        for c in s.clauses
    ]
    assert clauses == [
        ["batch", "gd"],
        ["one", "update", "per", "epoch"],
        ["exact", "co", "adaptation"],
        ["sgd"],
        ["noisy"],
    ]


def test_glue_counts_links_between_phrases_not_lists_of_names():
    glued = (
        "The bias-variance trade-off is underfitting and overfitting with model complexity, regularization, "
        "irreducible noise and the expected test error of ensembles"
    )
    names = "From TP, FP, FN and TN you get accuracy, precision, recall and F1 at one threshold."
    prose = "Dropout randomly zeroes units during training so that they cannot co-adapt, which regularizes."
    assert text.glue_share(glued) >= 0.3
    assert text.glue_share(names) < 0.1
    assert text.glue_share(prose) < 0.1


def test_nothing_to_do_with_denies_but_is_no_phrase_of_the_bank():
    s = text.split_sentences("It has nothing to do with co-adaptation.")[0]
    words = [w for c in s.clauses for w in c]
    assert words[0].negator and words[0].key != text.NOT  # "not co-adapt" in a bank must not match it


@pytest.mark.parametrize("abbreviation", ["w.r.t.", "e.g.", "i.e.", "vs.", "approx.", "E.g."])
def test_a_quote_runs_on_past_an_abbreviation(abbreviation):
    sentence = f"Take the gradient {abbreviation} the weights of the model. Then step."
    quotes = [s.quote for s in text.split_sentences(sentence)]
    assert quotes[0] == f"Take the gradient {abbreviation} the weights of the model."
    assert quotes[-1] == "Then step."


def test_a_full_stop_that_ends_a_sentence_still_ends_it():
    assert [s.quote for s in text.split_sentences("The answer is no. It is not.")] == [
        "The answer is no.",
        "It is not.",
    ]


def _disowned(answer: str, phrases: tuple[str, ...] = ()) -> list[list[str]]:
    """Per sentence, the words of the clauses taken back after they are said."""
    sentences = text.split_sentences(answer)
    out = text.disowned(sentences, [text.phrase_keys(p) for p in phrases])
    return [[w.plain for c in sorted(d) for w in s.clauses[c]] for s, d in zip(sentences, out, strict=True)]


@pytest.mark.parametrize(
    ("answer", "taken_back"),
    [
        # A clause that only denies takes back what came before it in the sentence.
        ("Bonferroni or Holm for the FWER, unnecessary.", [["bonferroni", "holm", "fwer"]]),
        ("Gap statistic, BIC, stability: no.", [["gap", "statistic", "bic", "stability"]]),
        (
            "Implicit data has only positives -- not really, every pair is a negative.",
            [["implicit", "data", "only", "positives"]],
        ),
        # A sentence that only denies takes back the sentence before it.
        (
            "Hard negatives risking false negatives? A myth.",
            [["hard", "negatives", "risking", "false", "negatives"], []],
        ),
        ("Splitting by time? Not needed.", [["splitting", "time"], []]),
        (
            "ViTs need large-scale pretraining. They don't.",
            [["vits", "need", "large", "scale", "pretraining"], []],
        ),
        # A clause that closes by denying its subject takes back its run of "and"-joined clauses,
        # with the short items listed before it.
        (
            "Uplift brings nothing over churn probability.",
            [["uplift", "brings", "nothing", "over", "churn", "probability"]],
        ),
        (
            "Early stopping, label smoothing and robust losses are unnecessary.",
            [["early", "stopping", "label", "smoothing", "robust", "losses", "unnecessary"]],
        ),
        (
            "A baseline rule and an A/B test are not needed.",
            [["baseline", "rule", "b", "test", "not", "needed"]],
        ),
        ("Masking future tokens is not how it works.", [["masking", "future", "tokens", "not", "works"]]),
        ("Input distributions with PSI, that's not what tells you.", [["input", "distributions", "psi"]]),
        # Right answers deny in passing, and keep their words.
        ("At inference all units are used, no rescaling needed.", [[]]),
        ("Trees split on thresholds, so they don't need scaling.", [[]]),
        ("What it's not: the probability that the null is true.", [[]]),
        ("Without a non-linearity, stacking layers adds nothing.", [[]]),
        ("Dropout has nothing to do with data augmentation.", [[]]),
    ],
)
def test_words_taken_back_after_they_are_said_are_found(answer, taken_back):
    assert _disowned(answer) == taken_back


def test_a_denial_that_is_the_question_s_own_phrase_takes_nothing_back():
    """'Scaling is unnecessary' is what a right answer about trees says, and a key point's phrase."""
    answer = "For trees, scaling is unnecessary."
    assert _disowned(answer) == [["trees", "scaling", "unnecessary"]]
    assert _disowned(answer, ("scaling is unnecessary",)) == [[]]


def test_a_size_reads_the_same_however_the_times_sign_is_written():
    assert (
        text.phrase_keys("two 3×3 layers")
        == text.phrase_keys("two 3x3 layers")
        == text.phrase_keys("two 3 x 3 layers")
    )
    # A product of decimals is read as its numbers, as the bank's terms write it ("0 05 0 01").
    assert text.phrase_keys("0.05 × 0.01") == text.phrase_keys("0 05 0 01")


def _hung(sentence):
    s = text.split_sentences(sentence)[0]
    hung = text.hung_on_vague(s)
    return [w.plain for w in s.words if w.index in hung and w.plain not in text.FILLERS]


def test_a_list_of_names_hung_on_a_vague_verb_is_named_not_stated():
    assert _hung("We leverage PCA with the orthogonal directions, the variance and the eigenvectors.") == [
        "pca", "orthogonal", "directions", "variance", "eigenvectors"
    ]  # fmt: skip
    assert text.vague_lists("It involves the covariance matrix, the SVD and the reconstruction error.") == 1
    # Not a list: two items, or a reason given, or items that describe rather than name.
    assert _hung("Labels rely on chargebacks and reviews, so they arrive late.") == []
    assert (
        _hung("It's called boosting because the residuals relate to the gradient, the loss and the step.")
        == []
    )
    assert _hung(
        "Multi-head attention involves h heads, each with its own query, key and value projections into a "
        "lower dimension, run in parallel and concatenated."
    ) == []  # fmt: skip
    # The list a vague relation closes is hung on it too.
    assert _hung("Clicks, purchases and relevance judgements all play a role, and the metrics matter.") == [
        "clicks", "purchases", "relevance", "judgements", "all"
    ]  # fmt: skip
    # Steps are no names: "involves centering the data, computing ..." says what is done.
    steps = (
        "PCA involves centering the data, computing the covariance matrix, its eigenvectors, and projecting."
    )
    assert _hung(steps) == []
    assert text.vague_lists(steps) == 0
    # A break other than a comma ends the list: "rely on distances" hangs nothing.
    assert _hung("Models that rely on distances need scaling: kNN, k-means, SVMs and PCA.") == []


def test_a_vague_verb_glues_the_list_it_hangs_and_is_no_predication():
    hung = "Gradient boosting involves the trees, the residuals, the negative gradient and the loss."
    said = "Gradient boosting fits each tree to the residuals, the negative gradient of the loss."
    assert text.glue_share(hung) > text.glue_share(said)
    assert text.predications("it involves the trees and it leverages the loss") == (0, 0)
    assert text.predications("it fits the trees and it adds the outputs")[0] >= 2


@pytest.mark.parametrize(
    ("sentence", "sure"),
    [
        # The steps of a procedure, said to the listener.
        ("Fix random seeds, version the data, code and config, and pin dependencies in a lockfile.", 3),
        ("First check integrity, then confirm the sample size and look at the interval.", 3),
        # A modal and its verb; a verb and the adverb that qualifies it; a relative clause.
        ("ML CI/CD must version data and models as well as code.", 1),
        ("The mean is approximately normal whatever the distribution.", 1),
        ("Memory grows linearly with sequence length, which justifies paged caches.", 2),
        # What the speaker would do, and steps after what sets the scene.
        ("With 20 metrics you'd expect one to be significant by chance.", 1),
        ("I'd make a test set from user queries, score outputs with a judge and check a sample.", 2),
        ("For a new point, find the k nearest points and take a majority vote.", 2),
        # Names, not steps: a list that opens on a word that may be a verb, a hedge, a vague clause.
        ("Train, validation and test splits, with the training set for weights.", 0),
        ("Test set of the weights, sample size and log loss with the variance.", 0),
        ("Adam is basically momentum and RMSProp with bias correction.", 0),
        ("It covers the tokens, the merges and the vocabulary, which makes it play a key role.", 0),
    ],
)
def test_unmistakable_predications_are_counted(sentence, sure):
    said, unmistakable = text.predications(sentence)
    assert unmistakable == sure
    assert said >= unmistakable


def test_it_and_an_adverb_before_a_verb_say_what_it_does():
    assert text.predications("so it mainly reduces bias") == (1, 0)
    assert text.predications("so it mainly bias") == (0, 0)


def test_a_procedure_of_steps_explains_and_a_single_instruction_does_not():
    steps = text.split_sentences("Check novelty effects, run full weekly cycles, watch guardrail metrics.")
    assert text.explained_share(steps) == 1.0
    names = text.split_sentences("Standardization, min-max, robust scaler, log. Fit on train only.")
    assert text.explained_share(names) < 0.5


def test_a_verb_that_opens_a_list_of_names_explains_none_of_it():
    listed = text.split_sentences("Use class weights, SMOTE, PR-AUC, threshold, recall, focal loss.")
    assert text.explained_share(listed) == 0.0
    said = text.split_sentences("Use class weights, oversample the minority class, and tune the threshold.")
    assert text.explained_share(said) == 1.0


@pytest.mark.parametrize(
    ("sentence", "asked"),
    [
        ("Is it about momentum?", True),
        ("Maybe RMSProp?", True),
        ("Use SMOTE, class weights or focal loss?", True),
        ("It zeroes units at random, right?", False),
        ("It zeroes units, isn't it?", False),
        ("It zeroes units, don\u2019t they?", False),
        ("It zeroes units.", False),
    ],
)
def test_a_question_is_told_from_a_claim_with_a_tag(sentence, asked):
    assert text.asks(text.split_sentences(sentence)[0]) is asked


def test_terms_run_together_without_a_break_are_a_list():
    soup = text.split_sentences("precision recall TP FP FN threshold tradeoff F1 harmonic mean PR curve")
    assert text.unpunctuated_list(soup)
    said = text.split_sentences("precision is the share of predicted positives that are right")
    assert not text.unpunctuated_list(said)
    # "Mini-batch mean" names a statistic; "mean" relates nothing.
    assert text.explained_share(text.split_sentences("Mini-batch mean. Mini-batch variance.")) == 0.0
