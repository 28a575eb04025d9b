"""Key points derived offline from a question's reference answer, for questions written without any.

Each sentence of the reference becomes a key point; its content words, less the question's own
words (an echo of the question proves nothing), become the concepts the offline grader looks for
together. Pure and deterministic: the same question always derives the same key points, so a
derived question grades like any other and its content hash is stable.
"""

from __future__ import annotations

from interviewer.grading import text

DERIVED_OFFLINE = "offline"
MAX_POINTS = 8  # as many as a question may have (bank.Question)
MAX_TERMS = 4  # all must be said for a point to be covered: more would ask for the reference verbatim
MIN_WORD = 2  # shorter words ("x", "b") are symbols, not ideas
# Words that carry no idea of their own in a reference sentence ("more data", "both losses").
GENERIC = frozenset(
    """more less most many much both each every other some any all such well too so only even still
    including include includes using use uses used usually often always sometimes generally like etc eg
    ie way ways thing things get gets make makes made one two first second fix fixes option options
    solution solutions technique techniques""".split()
)


def key_points(prompt: str, reference: str) -> list[dict]:
    """The key points of `reference` as bank data (`point`, `terms`); empty if it says nothing new."""
    asked = text.vocabulary(prompt)
    sentences = text.split_sentences(reference)
    spread: dict[str, int] = {}  # in how many sentences each word occurs
    for sentence in sentences:
        for key in {w.key for clause in sentence.clauses for w in clause}:
            spread[key] = spread.get(key, 0) + 1
    found = []
    for sentence in sentences:
        terms = _terms(sentence, asked, spread)
        if terms:
            found.append({"point": sentence.text.rstrip(".;: "), "terms": terms})
    if len(found) > MAX_POINTS:  # keep the sentences that say most, in their order
        ranked = sorted(range(len(found)), key=lambda i: (-len(found[i]["terms"]), i))[:MAX_POINTS]
        found = [found[i] for i in sorted(ranked)]
    return found


def _terms(sentence: text.Sentence, asked: frozenset[str], spread: dict[str, int]) -> list[str]:
    """The sentence's most specific content words not in the question, in their order.

    Specific: said in fewest of the reference's sentences (a word in every sentence tells none of
    them apart), then the longest ("regularization" over "fix").
    A word a negation denies keeps it ("don't use accuracy": "not accuracy"), so an answer that
    says the opposite is not credited with the point.
    """
    words = sentence.words
    chosen: dict[str, tuple[int, str]] = {}  # key -> (position, term)
    for clause in sentence.clauses:
        for word in clause:
            if word.negator or word.key in chosen or word.plain in GENERIC or len(word.plain) < MIN_WORD:
                continue
            before = words[max(0, word.index - 2) : word.index]
            denied = any(w.negator and w.clause == word.clause for w in before)
            if word.key in asked and not denied:  # "not connected" says more than the question's "connection"
                continue
            term = f"not {word.plain}" if denied else word.plain
            chosen[word.key] = (word.index, term)
    kept = sorted(chosen.items(), key=lambda kv: (spread[kv[0]], -len(kv[1][1]), kv[1][0]))[:MAX_TERMS]
    return [term for _, term in sorted(place for _, place in kept)]
