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
    ],
)
def test_a_bare_list_of_terms_is_told_from_an_explanation(answer, is_list):
    share = text.explained_share(text.split_sentences(answer))
    assert (share < 0.15) is is_list, share
