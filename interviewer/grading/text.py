"""Text as the offline grader sees it: sentences, clauses, stemmed words, negations, phrase matches.

Everything here is deterministic and pure. Positions are kept so that evidence can be quoted from
the candidate's own text.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Words that carry no meaning of their own for matching; dropped from both answer and terms.
FILLERS = frozenset(
    """a an the of to in on at by for from with as is are was were be been being am it its this that
    these those there their they them which who whom what how why do does did done has have had having
    can could will would shall should may might must i you we he she our your my me us also just very
    really then into onto about and or""".split()
)
# Words that make a clause say the opposite of what follows them.
NEGATORS = frozenset(
    """not no non never none nor neither without cannot cant dont doesnt isnt arent wasnt werent wont
    wouldnt shouldnt couldnt hardly barely rarely seldom""".split()
)
# "not only X", "not just X" affirm X.
_NEGATION_RELEASERS = frozenset({"only", "just", "merely", "simply", "necessarily"})
EXPLAINING_CLAUSE_WORDS = 6
UNPUNCTUATED_LIST_WORDS = 8  # see unpunctuated_list
LIST_ITEM_WORDS = 3  # a clause of at most this many content words, none relating, is a listed item
# Words that relate one idea to another: a clause with none of them, and short, names a term
# rather than explaining it.
# Prepositions are left out: "sum of squares" names a term as much as "squares" does; and "i", in
# notes an index ("item vector q_i") more often than the pronoun, whose clause has a verb of its own.
RELATIONAL = (
    FILLERS - {"a", "an", "the", "and", "or", "of", "in", "on", "at", "from", "about", "into", "onto", "i"}
) | frozenset(
    """if when because so than since until unless where after before while whereas but thus hence
    therefore means makes make causes cause gives give leads lead lets let uses use helps help
    becomes become gets get""".split()
)
NEGATION_REACH = 1  # content words a negation reaches across to the start of a match
# Adverbs after a negation that deny a degree rather than the claim: "not fully shift-invariant" is
# partly invariant.
_HEDGES = frozenset("fully completely entirely always necessarily exactly strictly perfectly totally".split())
# Adverbs a negation reaches across: "not actually needed", "not always true".
_TRANSPARENT = frozenset(
    """actually always necessarily even quite usually typically generally exactly truly fully completely
    entirely strictly directly ever much""".split()
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Abbreviations whose full stop ends no sentence: "the gradient w.r.t. the weights", "e.g. Adam".
# ("etc." is left out: it ends as many sentences as it continues.)
ABBREVIATIONS = (*"e.g. i.e. i.i.d. w.r.t. vs. approx. cf. resp. viz. a.k.a. incl.".split(), "et al.")
_ABBREVIATED = "|".join(rf"(?<=(?i:\b{re.escape(a)}))" for a in ABBREVIATIONS)
_NOT_ABBREVIATED = "".join(rf"(?<!(?i:\b{re.escape(a)}))" for a in ABBREVIATIONS)
_SENTENCE_END = re.compile(rf"(?<=[.!?]){_NOT_ABBREVIATED}\s+|\n\s*\n\s*|\n(?=\s*(?:[-*•·]|\d+[.)]|[A-Z]))")
_AFTER_ABBREVIATION = re.compile(rf"(?<=\.)(?:{_ABBREVIATED})\s+")  # each ends with "."
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s+")
_CLAUSE_WORDS = frozenset({"and", "but", "while", "whereas", "although", "though", "however"})
# A clause ends at a comma, semicolon, colon, line break or em dash, or at a dash or bar set off by
# spaces (not at the hyphen of "co-adaptation", the en dash of "Benjamini–Hochberg" or "2e-5–5e-5",
# or the bar of "P(A|B)").
_TOKEN = re.compile(rf"(?P<word>{_WORD.pattern})|(?P<brk>[,;:\n\u2014]|\s[-\u2013]+\s|\s\|\s)")

# A Snowball stemmer keeps its working string and cursor on itself, so threads sharing one corrupt
# each other's stems (or fail with IndexError): each grading thread gets its own.
_local = threading.local()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


# "3×3", "3 x 3" and "3x3" are one size, as answers and terms write it (whole numbers only: "0.05 ×
# 0.01" is a product, read as its numbers).
_TIMES = re.compile(r"(?<![\d.])(\d+)\s*[×x]\s*(\d+)(?![.\d])")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _TIMES.sub(r"\1x\2", text.replace("\u2019", "'").replace("\u2018", "'"))


# British spellings folded to American before stemming ("memorise" = "memorize", "centre" = "center").
# Applied alike to answers and bank terms, so a rare false fold costs nothing.
_SPELLING = [
    (re.compile(r"(?<=\w{3})is(e|es|ed|ing|ation|ations|er|ers)$"), r"iz\1"),
    (re.compile(r"(?<=\w{2})ys(e|es|ed|ing)$"), r"yz\1"),
    (re.compile(r"(?<=\w{2})our(s|ed|ing)?$"), r"or\1"),
    (re.compile(r"(?<=\w{2}[^aeiou])tre(s?)$"), r"ter\1"),
    (re.compile(r"(?<=\w{2}[^aeiou])tred$"), r"tered"),
]


@lru_cache(maxsize=65536)
def _word_key(raw: str) -> str:
    """The form a word is compared by: apostrophes gone, spelling folded, then stemmed."""
    word = raw.replace("'", "")
    for pattern, repl in _SPELLING:
        word = pattern.sub(repl, word)
    return stem(word)


_CONTRASTS = {"rather": "than", "instead": "of"}
CONTRAST_NEGATORS = frozenset(_CONTRASTS.values())  # the "than" of "rather than" denies as "not" does
NOT = "not"  # every negator is compared as this one word, so a term "not overfit" matches "doesn't overfit"
# "Has nothing to do with X" denies X, but is no "not X" of a bank phrase ("not co-adapt").
UNRELATED = "nothing-to-do"


@dataclass(frozen=True, slots=True)
class Word:
    key: str  # stemmed; NOT for every negator
    plain: str  # lower-case, apostrophes removed
    clause: int  # index of the clause within its sentence
    index: int  # position among all words of the sentence (fillers included)

    @property
    def negator(self) -> bool:
        return self.key in (NOT, UNRELATED)


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str  # the candidate's own words, as typed
    words: tuple[Word, ...]  # every word, fillers included
    clauses: tuple[tuple[Word, ...], ...]  # the words that carry meaning (no fillers), clause by clause
    # Per clause, whether "and" joined it to the one before ("the mean and the variance of the test
    # batch") rather than a comma, a semicolon or a contrast ("but", "while"): a softer break.
    joined: tuple[bool, ...] = ()
    # The whole sentence the candidate wrote, to quote: `text` is the piece of it up to or after an
    # abbreviation (see split_sentences).
    quote: str = ""

    def groups(self) -> list[tuple[int, int]]:
        """Runs of clauses joined by "and", as (first, end) clause indexes."""
        out: list[tuple[int, int]] = []
        for c in range(len(self.clauses)):
            if out and c < len(self.joined) and self.joined[c]:
                out[-1] = (out[-1][0], c + 1)
            else:
                out.append((c, c + 1))
        return out


@lru_cache(maxsize=65536)
def _key(token: str) -> str:
    if token.endswith("n't") or token.replace("'", "") in NEGATORS:
        return NOT
    return _word_key(token.removesuffix("'s"))  # "L1's penalty" is L1's


def _words(text: str, soft: set[int] | None = None) -> tuple[Word, ...]:
    """The words of a sentence; `soft` collects the clauses that "and" started."""
    words: list[Word] = []
    clause = 0
    said = 0  # content words in the clause so far
    for match in _TOKEN.finditer(normalise(text)):
        token = match.group()
        if match.lastgroup == "brk":
            clause, said = clause + 1, 0
            continue
        # "and" joins two clauses, except after a lone word: "sigmoid and tanh both saturate".
        if token in _CLAUSE_WORDS and (token != "and" or said > 1):
            clause, said = clause + 1, 0
            if token == "and" and soft is not None:
                soft.add(clause)
        elif token not in FILLERS:
            said += 1
        key = _key(token)
        if words and words[-1].plain in _CONTRASTS and token == _CONTRASTS[words[-1].plain]:
            key = NOT  # "rather than X", "instead of X" deny X
        elif key == NOT and words and words[-1].plain == "or":
            key = "_not"  # "whether it overfits or not" denies nothing
        words.append(Word(key, token.replace("'", ""), clause, len(words)))
    # "has nothing to do with X" denies X as "not" would.
    for i in range(len(words) - 3):
        if words[i].plain == "nothing" and [w.plain for w in words[i + 1 : i + 4]] == ["to", "do", "with"]:
            words[i] = Word(UNRELATED, "nothing", words[i].clause, i)
    return tuple(words)


def split_sentences(text: str) -> list[Sentence]:
    """The answer's sentences, as the grader reads them.

    A sentence that holds an abbreviation ("e.g. scatter_add", "w.r.t. the weights") is read in
    pieces, split after it, each quoting the whole sentence. Reading it whole was measured to cost
    the offline grader agreement on the calibration sets (a long sentence more often both says and
    denies a point's concept, which earns nothing); a quote cut at "e.g." only misleads the reader.
    """
    sentences = []
    for whole in _SENTENCE_END.split(text):
        quote = _BULLET.sub("", whole).strip()
        for chunk in _AFTER_ABBREVIATION.split(quote):
            if sentence := _sentence(chunk.strip(), quote):
                sentences.append(sentence)
    return sentences


# Words after a last comma that make a question of a claim the speaker makes: "..., right?"
_TAGS = frozenset(
    """right correct no yes yeah ok okay true isnt it doesnt dont arent wasnt werent wouldnt
    cant wont i think guess believe they he she we you this that""".split()
)


def asks(sentence: Sentence) -> bool:
    """Whether the sentence is a question ("Is it about momentum?", "Maybe RMSProp?"), which claims
    nothing, rather than a claim with a tag ("It zeroes units at random, right?")."""
    quote = sentence.quote.rstrip()
    if not quote.endswith("?"):
        return False
    if "," not in quote:
        return True
    tag = [word.replace("'", "") for word in _tokens(quote[:-1].rsplit(",", 1)[1]) if word]
    return not (tag and all(word in _TAGS for word in tag))


def _sentence(chunk: str, quote: str) -> Sentence | None:
    """One sentence (None when it holds no word that carries meaning)."""
    soft: set[int] = set()
    words = _words(chunk, soft)
    clauses: dict[int, list[Word]] = {}
    for w in words:
        if w.plain not in FILLERS:
            clauses.setdefault(w.clause, []).append(w)
    if not clauses:
        return None
    # Clauses are renumbered without the empty ones; a clause is joined when "and" started it.
    joined = tuple(number in soft for number in clauses)
    return Sentence(chunk, words, tuple(tuple(c) for c in clauses.values()), joined, quote)


@lru_cache(maxsize=65536)
def phrase_keys(phrase: str) -> tuple[str, ...]:
    """The stemmed content words of a term, as they are matched against an answer."""
    return tuple(
        _key(token) for token in _WORD.findall(normalise(phrase)) if token.replace("'", "") not in FILLERS
    )


def vocabulary(text: str) -> frozenset[str]:
    """Stemmed content words of a text (used for the question's own words)."""
    return frozenset(w.key for s in split_sentences(text) for c in s.clauses for w in c if not w.negator)


def find_phrase(
    words: tuple[Word, ...], keys: tuple[str, ...], unskippable: frozenset[str] = frozenset()
) -> list[Word] | None:
    """The words matching `keys` in order, with at most one other word between each, never one of
    `unskippable`; or None."""
    if not keys or len(keys) > len(words):
        return None
    for start, word in enumerate(words):
        if word.key != keys[0]:
            continue
        matched = [word]
        at = start
        for key in keys[1:]:
            nxt = next((j for j in range(at + 1, min(at + 3, len(words))) if words[j].key == key), None)
            if nxt is not None and nxt > at + 1 and words[at + 1].key in unskippable:
                nxt = None
            if nxt is None:
                break
            at = nxt
            matched.append(words[at])
        else:
            return matched
    return None


# Words that start a clause of their own, across which a negation before them does not reach.
_NEGATION_STOPS = frozenset(
    "because since so if when unless until whereas while although though thus hence therefore".split()
)


def negator_of(sentence: Sentence, matched: list[Word]) -> Word | None:
    """The negator that applies to the match, if one does: right before it, or inside it.

    "Right before" allows filler words, a few adverbs ("does not actually prevent") and one other
    word ("does not compare predictions"). Polar ideas are best written into the bank's terms with
    their negation ("not vanish", "no overfitting"), which then match as themselves. A negator
    that is part of the matched phrase ("not zero-centred") is the phrase's own meaning, and
    "not only X" affirms X.
    """
    first, last = matched[0], matched[-1]
    inside = {w.index for w in matched}
    words = sentence.words
    for w in words[first.index : last.index]:
        if w.negator and w.index not in inside:
            return w
    between = 0  # content words between the negator and the match
    for w in reversed(words[: first.index]):
        if w.clause != first.clause:
            return None
        if w.negator:
            following = words[w.index + 1]
            if w.plain == "non" and following is not first:
                continue  # "non-linear patterns": the "non" is of "linear" alone
            released = following.plain in _NEGATION_RELEASERS and following.index not in inside
            return None if released else w
        if w.plain in _NEGATION_STOPS:
            return None  # "trees don't, because threshold splits ...": the denial is of what went before
        if w.plain not in FILLERS and w.plain not in _TRANSPARENT:
            between += 1
            if between > NEGATION_REACH:
                return None
    return None


# Words that may follow a negation that closes its clause and denies what came before it.
_CLOSING = frozenset(
    """true case happens happen works work correct right really so anymore problem issue concern needed
    necessary useful helpful relevant important required much""".split()
)


# Words that deny what was said before them ("..., no.", "That's a myth.", "X is overkill"), and
# the words that may stand beside them in a clause that only denies ("not a real concern").
_DISOWNING = frozenset(
    "no nope not none nothing myth myths nonsense unnecessary needless pointless overkill".split()
)
_DISOWNING_REST = (
    _CLOSING
    | _DISOWNING
    | frozenset(
        """thats simply totally completely honestly helps matters matter real either way exist exists
        bring brings add adds more""".split()
    )
)
# A clause that ends in one of these denies its subject ("standardizing first is unnecessary").
_DISOWNING_LAST = frozenset("myth myths unnecessary needless pointless overkill overstated".split())
_BRING_NOTHING = frozenset({"bring", "brings"})  # "cross-validating λ brings nothing (over ...)"
_MYTH = frozenset({"myth", "myths"})
_BACK = frozenset({"thats", "that", "this", "which", "its", "it"})  # "..., that's not what tells you"
_QUESTION_WORDS = frozenset({"what", "how", "why", "where", "when", "which"})  # "what it's not:"


def _denies_only(words: Sequence[Word]) -> bool:
    """Whether a clause only denies ("not needed", "that's a myth", "they don't", "brings
    nothing"); "what it's not:" announces what follows."""
    denials = [i for i, w in enumerate(words) if w.plain in _DISOWNING or w.negator]
    if not denials or any(w.plain in _QUESTION_WORDS for w in words[: denials[0]]):
        return False
    return all(w.plain in FILLERS or w.plain in _DISOWNING_REST or w.negator for w in words)


def _denial_of_subject(words: Sequence[Word]) -> list[Word]:
    """The words with which a clause closes by denying what it is about ("... is a myth", "...
    brings nothing over a shuffle", "... are not needed", "... is not how it works"), if it does."""
    plain = [w.plain for w in words]
    content = [w for w in words if w.plain not in FILLERS]
    if content and content[-1].plain in _DISOWNING_LAST:
        return [content[-1]]
    myth = next((w for w in content[1:] if w.plain in _MYTH), None)  # "... are a myth from SRE books"
    if myth is not None:
        return [myth]
    for i, w in enumerate(words):
        if w.plain == "nothing" and i and plain[i - 1] in _BRING_NOTHING:
            return [words[i - 1], w]
        if w.negator and w.plain != "non" and i:
            after = words[i + 1 :]
            rest = [x for x in after if x.plain not in FILLERS]
            if [x.plain for x in after[:1]] in (["what"], ["how"]) or (
                rest and all(x.plain in _CLOSING for x in rest)
            ):
                return [w, *rest]
    return []


def _listed(clause: Sequence[Word]) -> bool:
    return len(clause) <= LIST_ITEM_WORDS and not any(w.plain in RELATIONAL for w in clause)


def disowned(sentences: Sequence[Sentence], phrases: Iterable[Iterable[str]]) -> list[frozenset[int]]:
    """Per sentence, the clauses (indexes into `clauses`) denied after they are said.

    Adversarial answers state the right terms and take them back afterwards: "Bonferroni or Holm
    for the FWER, unnecessary.", "Isolation forest, where points isolated in few splits are
    anomalous? That's a myth.", "Uplift brings nothing over plain churn probability.", "A simple
    baseline rule and an agreed A/B test are not needed." A clause that only denies disowns the
    clauses before it in its sentence, or the sentence before when it opens its own; a clause that
    closes by denying its subject disowns its run of "and"-joined clauses. A denial whose words
    belong to one of `phrases` (the question's key points: "scaling is unnecessary" for trees, "a
    myth" of internal covariate shift) disowns nothing.
    """
    own: list[frozenset[str]] | None = None  # built when a denial is found: most sentences hold none

    def spoken(clause: Sequence[Word], denial: Iterable[Word]) -> bool:
        nonlocal own
        if own is None:  # a bare "no" among a concept's phrasings protects nothing
            own = [p for p in map(frozenset, phrases) if p != {NOT}]
        keys, denied = {w.key for w in clause}, {w.key for w in denial}
        return any(p <= keys and p & denied for p in own)

    out: list[set[int]] = [set() for _ in sentences]
    for s_index, sentence in enumerate(sentences):
        raw: dict[int, list[Word]] = {}
        for w in sentence.words:
            raw.setdefault(w.clause, []).append(w)
        content = sorted({w.clause for w in sentence.words if w.plain not in FILLERS})
        compact = {c: i for i, c in enumerate(content)}
        start = 0  # the first raw clause a denial-only clause may reach back to
        only: set[int] = set()
        for c, words in sorted(raw.items()):
            back = words[0].plain in _BACK and _denial_of_subject(words)
            if not (_denies_only(words) or back) or spoken(
                words, [w for w in words if w.plain in _DISOWNING]
            ):
                continue
            only.add(c)
            before = [compact[r] for r in range(start, c) if r in compact]
            if before:
                out[s_index].update(before)
            elif s_index > 0 and start == 0:
                out[s_index - 1].update(range(len(sentences[s_index - 1].clauses)))
            start = c + 1
        for first, end in sentence.groups():
            for i in range(first, end):
                c = content[i]
                denial = _denial_of_subject(raw[c])
                if denial and c not in only and not spoken(raw[c], denial):
                    # with the items listed before the run: "Early stopping, label smoothing and
                    # robust losses are unnecessary"
                    start = first
                    while start > 0 and _listed(sentence.clauses[start - 1]):
                        start -= 1
                    out[s_index].update(range(start, i + 1))
    return [frozenset(d) for d in out]


def weak_negation(sentence: Sentence, negator: Word) -> bool:
    """Whether a negation only narrows, contrasts, checks or supposes what it meets, rather than
    denying it.

    "Rather than" and "instead of" contrast ("the running averages instead of the batch
    statistics"), as a clause that opens with the negation does ("a large learning rate for the
    head, not a small one"); a hedge after it denies a degree ("not fully shift-invariant").
    """
    if negator.plain in CONTRAST_NEGATORS:
        return True
    # "double check there's no leakage", "make sure it does not overfit": what is checked, not claimed.
    if any(w.plain in _CHECKING for w in sentence.words[max(0, negator.index - 4) : negator.index]):
        return True
    # "as long as they don't change the label", "if it doesn't converge": a condition, not a claim.
    if any(w.plain in _CONDITIONAL for w in sentence.words[: negator.index] if w.clause == negator.clause):
        return True
    later = [w for w in sentence.words[negator.index + 1 :] if w.plain not in FILLERS]
    if later and later[0].plain in _HEDGES:
        return True
    before = [
        w for w in sentence.words[: negator.index] if w.clause == negator.clause and w.plain not in FILLERS
    ]
    return negator.clause > 0 and not before and negator.plain in {"not", "never"}


# Prepositions that open an adjunct of time of the verb a negation denies: "hasn't improved for a
# few epochs" denies the improvement, not the epochs ("no need for X" denies X).
_ADJUNCTS = frozenset("over after within during until".split())
_SPANS = frozenset("few several some many long while number couple".split())  # "for a few epochs"


def across_adjunct(sentence: Sentence, negator: Word, matched: list[Word]) -> bool:
    """Whether a negation reaches the match only across the verb it denies and a preposition that
    opens that verb's adjunct of time: whether the match is denied, nobody can tell."""
    between = sentence.words[negator.index + 1 : matched[0].index + 1]
    if not between or between[0].plain in FILLERS:
        return False
    for w, after in itertools.pairwise(between):
        if w.plain in _ADJUNCTS:
            return True
        if w.plain == "for":
            span = next((x for x in sentence.words[after.index :] if x.plain not in FILLERS), after)
            return span.plain in _SPANS or span.plain.isdigit()
    return False


_ADVISING = frozenset({"never", "dont", "avoid"})
_CONDITIONAL = frozenset({"if", "unless", "provided", "long", "whenever"})  # "long": "as long as"
_FORBIDDING = frozenset({"cant", "cannot", "shouldnt", "mustnt"})  # "you can't flip digits"
_CHECKING = frozenset(
    "check checking verify verifying ensure ensuring confirm confirming sure whether".split()
)


def advises_against(sentence: Sentence, negator: Word) -> bool:
    """Whether the negation opens its clause as advice ("Never shuffle time series", "Don't trust
    impurity importance", "Do not ...", "you can't flip digits"): it warns against what follows
    rather than denying a fact."""
    before = [w.plain for w in sentence.words[: negator.index] if w.clause == negator.clause]
    before = [p for p in before if p not in ("so", "and", "then", "just", "but", "also", "eg")]
    return (
        (negator.plain in _ADVISING and not before)
        or (negator.plain == "not" and before == ["do"])
        or (negator.plain in _FORBIDDING and before in (["you"], ["we"]))
    )


def denied_in_clause(sentence: Sentence, matched: list[Word], spoken_for: set[int]) -> bool:
    """Whether a negator earlier in the match's clause may deny it, beyond `negator_of`'s reach.

    "Gradient descent does not move the parameters against the gradient" denies "against the
    gradient" three words on, and "it is not suited to images, text or audio" denies the items
    listed after the first. Negators that belong to a phrase of their own (`spoken_for`: "not
    zero-centred", "no longer improves"), "non" and "not only" deny nothing further. A negation
    after the match denies it only where it closes the clause ("averaging an ensemble is not what
    it does", "that is not true"); "adding data won't help if the model underfits" is as common in
    right answers as in wrong ones.
    """
    first, last = matched[0], matched[-1]
    words = sentence.words
    for w in words[last.index + 1 :]:
        if w.clause != first.clause:
            break
        if w.negator and w.index not in spoken_for and w.plain != "non":
            rest = [x for x in words[w.index + 1 :] if x.clause == first.clause and x.plain not in FILLERS]
            if all(x.plain in _CLOSING for x in rest):
                return True
    clause = first.clause
    while True:
        for w in words:
            if w.clause != clause or (clause == first.clause and w.index >= first.index):
                continue
            if not w.negator or w.index in spoken_for or w.plain == "non":
                continue
            following = words[w.index + 1] if w.index + 1 < len(words) else None
            if following is None or following.plain not in _NEGATION_RELEASERS:
                return True
        # A clause that is only a listed item ("text or audio") continues the one before it.
        item = [w for w in words if w.clause == clause and w.plain not in FILLERS]
        if (
            clause == 0
            or len(item) > LIST_ITEM_WORDS
            or any(w.plain in RELATIONAL for w in words if w.clause == clause)
        ):
            return False
        clause -= 1


def clause_negated(sentence: Sentence, matches: list[list[Word]]) -> bool:
    """Whether the clause of these matches holds a negator outside them (a claim denied, not made)."""
    inside = {w.index for m in matches for w in m}
    clauses = {m[0].clause for m in matches}
    return any(w.negator and w.clause in clauses and w.index not in inside for w in sentence.words)


# Words that chain terms without relating them: "A and B with C, D and the E of F", "where A meets
# B". ("and" and commas count only after a phrase, "about" only after a copula: see glue_share.)
_GLUE = frozenset("of with plus along together vs versus meets meet via through into".split())
# "X is (all) about A and B" names what X concerns, not what it does.
_COPULAS = frozenset("is are its thats all".split())


def glue_share(text: str) -> float:
    """Glue words, and commas after phrases, per content word.

    Terms chained into a sentence carry ~0.25-0.5 of them per content word; candidates' prose
    ~0.05-0.22, as it relates its terms with verbs and subordinate clauses instead. A comma or an
    "and" after a single word ("TP, FP, FN and TN") lists names, as correct answers do too, and
    does not count.
    """
    tokens = _tokens(text)
    vague = _spans(tokens, _VAGUE_RELATIONS_BY_FIRST)
    hanging = _hanging(tokens) if vague else set()  # "it involves A, B and C" glues them on "involves"
    glue = content = item = 0  # item: content words since the last glue
    previous = ""
    for i, token in enumerate(tokens):
        if i in vague:
            glue += i in hanging
            item = 0
        elif token in (",", "and"):
            glue += item >= 2
            item = 0
        elif (
            token in _GLUE
            or (token == "about" and previous.replace("'", "") in _COPULAS)
            or (token == "terms" and previous == "in")  # "in terms of"
        ):
            glue += 1
            item = 0
        elif not token or token == ",":
            item = 0
        elif token not in FILLERS:
            content += 1
            item += 1
        previous = token
    return glue / content if content else 0.0


_BECAUSE = frozenset("because since therefore thus hence".split())  # a reason: no vague list


# Where a list hung on a vague relation ends: a reason, a condition or a relative clause relates it.
_LIST_ENDS = _BECAUSE | frozenset(
    "so if when unless which that but while whereas where until before after".split()
)


def vague_lists(text: str) -> int:
    """How many vague relations the text hangs a list of three or more on: "it involves the
    covariance matrix, the SVD and the reconstruction error" (not "handling comes down to the
    cause, so I investigate first"); none when it gives a reason."""
    tokens = _tokens(text)
    return 0 if _BECAUSE.intersection(tokens) else len(_hanging(tokens))


def _relations(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Each vague relation of the tokens, as its first position and the one after it."""
    vague = _spans(tokens, _VAGUE_RELATIONS_BY_FIRST)
    out = []
    for first in sorted(vague - {i + 1 for i in vague}):
        end = first
        while end in vague:
            end += 1
        out.append((first, end))
    return out


def _list_from(tokens: Iterable[str]) -> list[str]:
    """The tokens of a list, up to a break other than a comma or a word that relates it ("so",
    "which", "when")."""
    return list(itertools.takewhile(lambda t: t and t not in _LIST_ENDS, tokens))


def _hanging(tokens: Sequence[str]) -> set[int]:
    """Where a vague relation starts that a list of three or more follows, unless the list is of
    steps ("it involves centering the data, computing the covariance matrix and projecting ...")."""
    hanging = set()
    for first, end in _relations(tokens):
        listed = _list_from(tokens[end:])
        if sum(t in (",", "and", "or") for t in listed) >= 2 and not _steps_named(listed):
            hanging.add(first)
    return hanging


def _items(stretch: Sequence[str]) -> list[list[str]]:
    """The content words of each item of a list."""
    items: list[list[str]] = [[]]
    for token in stretch:
        if token in (",", "and", "or"):
            items.append([])
        elif token not in FILLERS:
            items[-1].append(token)
    return [item for item in items if item]


def _steps_named(stretch: Sequence[str]) -> bool:
    """Whether most items of a list are steps, each a verb's -ing form and its object: "centering
    the data, computing the covariance matrix, its eigenvectors, and projecting onto the top ones"."""
    items = _items(stretch)
    steps = sum(len(item) >= 2 and item[0] in _GERUNDS for item in items)
    return steps >= 2 and steps * 2 >= len(items)


def hung_on_vague(sentence: Sentence) -> frozenset[int]:
    """The words (indexes into `sentence.words`) of the lists of three or more names that a vague
    relation hangs in the sentence: "we leverage PCA with the orthogonal directions, the variance
    and the eigenvectors" names them and says nothing of them. None when the sentence gives a
    reason."""
    if _VAGUE_RELATIONS_BY_FIRST.keys().isdisjoint(w.plain for w in sentence.words):
        return frozenset()  # most sentences: no vague relation at all
    tokens = _tokens(sentence.text)
    if _BECAUSE.intersection(tokens):
        return frozenset()
    index = list(itertools.accumulate((token not in ("", ",") for token in tokens), initial=-1))[1:]
    hung: set[int] = set()
    for first, end in _relations(tokens):
        # The list the relation opens ("it involves A, B and C"), and the one it closes ("A, B and
        # C all play a role").
        after, before = _list_from(tokens[end:]), _list_from(reversed(tokens[:first]))
        for start, stretch in ((end, after), (first - len(before), before)):
            if _names(stretch):
                hung.update(index[k] for k in range(start, start + len(stretch)) if tokens[k] != ",")
    return frozenset(hung)


def _names(stretch: Sequence[str]) -> bool:
    """Whether these tokens list three or more names: items of at most LIST_ITEM_WORDS content words
    ("the registry alias"), not descriptions or steps."""
    items = _items(stretch)
    return len(items) >= 3 and max(map(len, items)) <= LIST_ITEM_WORDS and not _steps_named(stretch)


def _tokens(text: str) -> list[str]:
    """The text's words, with "," for a comma and "" for any other break."""
    return [
        m.group() if m.lastgroup == "word" else "," if m.group() == "," else ""
        for m in _TOKEN.finditer(normalise(text))
    ]


# Words after which a word ending in "s" is a verb taking an object ("adds the", "keeps a", "drives
# many"); then the auxiliaries that make "it", "we", "they" or "which" before them a subject ("which
# are"), and the pronouns that open a relative clause or name a plural subject.
_OBJECT_STARTS = frozenset(
    "the a an each every all both many its their them it this these those one some any no more less fewer most another".split()
)
_AUXILIARIES = frozenset(
    "is are was were has have had can could will would may might must should do does did".split()
)
_RELATIVES = frozenset({"that", "which", "who"})
_PLURAL_SUBJECTS = frozenset({"we", "they"})
_NOT_VERBS = (
    frozenset("is was has does as us this its thus plus versus yes bias less".split()) | _GLUE | {"meets"}
)


# Verbs a candidate tells the interviewer to do, as a step of a procedure ("Use class weights,
# evaluate with PR-AUC and tune the threshold"): a clause opened by one says what to do. Those that
# are nouns as often ("test set", "log loss", "sample size") open a procedure only where it shows.
_NOUNS_TOO = frozenset(
    """set check version log train monitor run start drop scale center centre project fit split
    sample average stop watch track store cache test hold report plot look weight sort rank filter
    flag alert rollback roll call profile benchmark gate""".split()
)
_IMPERATIVES = _NOUNS_TOO | frozenset(
    """use fix tune add remove evaluate pin retrain compare apply try keep normalize normalise
    standardize standardise choose pick measure collect compute validate freeze clip shuffle
    deploy rebalance resample oversample undersample increase decrease reduce lower raise regularize
    regularise prune quantize distill replace avoid prefer make give treat encode embed shrink
    rescale subtract divide multiply take find remember estimate confirm verify inspect analyze
    analyse debug calibrate retrieve rerank""".split()
)
# Their -ing forms, as a list names steps: "centering the data, computing the covariance matrix".
_GERUNDS = frozenset(
    verb[:-1] + "ing" if verb.endswith("e") and not verb.endswith("ee") else verb + "ing"
    for verb in _IMPERATIVES
) | frozenset("setting fitting running splitting dropping logging stopping shrinking".split())
_SEQUENCE = frozenset({"first", "then", "next", "finally"})  # "first check integrity": a step
_MODALS = frozenset("can could must should will would may might cannot".split())
_SUBJECT_MODALS = frozenset(
    f"{pronoun}'{modal}" for pronoun in ("i", "you", "we", "they", "it", "that") for modal in ("d", "ll")
)
_NOT_AFTER_MODALS = FILLERS | _GLUE  # "can be", "would with": no verb of its own
_COPULA_VERBS = frozenset("is are was were be been".split())
_CLAUSE_STARTS = _SEQUENCE | {"and", "also", "or", "so"}
_NOT_OBJECTS = frozenset({"of", "vs", "versus", "and", "or", "is", "are"}) | _LIST_ENDS


# Adverbs that pad rather than qualify: "Adam is basically momentum and RMSProp with ...".
_HEDGING = frozenset(
    """basically really actually essentially generally usually typically simply mostly mainly
    primarily literally kinda only likely""".split()
)


def _at(tokens: Sequence[str], i: int) -> str:
    return tokens[i] if i < len(tokens) else ""


def _object(tokens: Sequence[str], i: int) -> bool:
    """Whether a word that may take an object stands at i: not a break, a list's joint or a clause's."""
    return i < len(tokens) and bool(tokens[i]) and tokens[i] not in _NOT_OBJECTS


def _verb_form(token: str) -> bool:
    """Whether a token may be a finite verb or a participle: "adds", "drives", "collected"."""
    return (
        len(token) > 3
        and "'" not in token
        and token not in FILLERS
        and token not in _NOT_VERBS
        and ((token.endswith("s") and not token.endswith(("ss", "us"))) or token.endswith("ed"))
    )


def predications(text: str) -> tuple[int, int]:
    """How often the text says what something does, and how often unmistakably so.

    It says so with a verb and its object ("L1 adds the absolute values", "it keeps a moving
    average"), "it", "we" or "they" and a verb, or a relative clause after a term ("positives that
    are correct"). Unmistakably with a modal and its verb ("must version"), a verb and an adverb
    that qualifies it ("is approximately normal", "grows linearly"), a relative clause after a comma
    (", which justifies z-tests") or the steps of a procedure ("Fix the seeds, version the data").

    Terms glued into a sentence hang them on "is", "of" and "with" ("X is the A of B with C, where
    D meets E") and say this of nothing; a dense correct sentence ("L1 adds ... and drives many of
    them to zero, while L2 adds ... and shrinks all weights ...") does it again and again.
    """
    tokens = [token if token != "," else "" for token in _tokens(text)]
    vague = _spans(tokens, _VAGUE_RELATIONS_BY_FIRST)  # "it involves the", "we leverage": no verb
    # "Fix the seeds, ...", not "Train, validation and test splits"
    # ... or, with its object's article, after what sets the scene: "For a new point, find the k
    # nearest points".
    procedure = _opens_step(tokens, first=True) or any(
        tokens[i - 1] == "" and _step(tokens, i) and tokens[i + 1] in _OBJECT_STARTS
        for i in range(1, len(tokens) - 1)
    )
    count = sure = 0
    for i in range(len(tokens) - 1):
        before, word, after = tokens[i - 1] if i else "", tokens[i], tokens[i + 1]
        if not (word and after) or i in vague or i + 1 in vague:
            continue  # a break ("," or ";") between them
        verb_after = after in _AUXILIARIES or _verb_form(after)
        if (
            (word == "which" and not before and verb_after and vague.isdisjoint(range(i + 1, i + 5)))
            or (word in _MODALS and after not in _NOT_AFTER_MODALS)
            # "I'd make a test set", "you'd expect one to be significant"
            or (word in _SUBJECT_MODALS and after not in _NOT_AFTER_MODALS)
            or (
                (word in _COPULA_VERBS or _verb_form(word)) and after.endswith("ly") and after not in _HEDGING
            )
            or (procedure and (not before or before in _CLAUSE_STARTS) and _step(tokens, i))
        ):
            # "..., which justifies" (not "..., which makes it play a role"), "would square",
            # "assumes roughly", "then tune the learning rate"
            count += 1
            sure += 1
            continue
        # "that"/"which" opening a clause about the term right before it, not "so that is how".
        term_before = bool(before) and before not in FILLERS and before not in RELATIONAL
        count += (
            (word.endswith("s") and _verb_form(word) and after in _OBJECT_STARTS)  # "adds the", "keeps a"
            # "it gets", "it mainly reduces"
            or (word == "it" and (verb_after or (after.endswith("ly") and _verb_form(_at(tokens, i + 2)))))
            # "we aim for", "they overfit"
            or (word in _PLURAL_SUBJECTS and (verb_after or after not in FILLERS))
            # "positives that are correct", "boxes that overlap it"
            or (word in _RELATIVES and term_before and (verb_after or after not in FILLERS | _OBJECT_STARTS))
        )
    return count, sure


def explained_share(sentences: list[Sentence]) -> float:
    """The share of words that stand in clauses that explain something, as opposed to naming terms.

    A clause explains when it relates ideas (it holds a word like "is", "to", "because", "when")
    or is long enough to. Candidates' prose scores 0.5 and more, terse notes ~0.2-0.4, and a bare
    list of terms ~0.
    """
    total = explained = 0
    for sentence in sentences:
        clauses: dict[int, list[Word]] = {}
        for w in sentence.words:
            clauses.setdefault(w.clause, []).append(w)
        parts = list(clauses.values())
        # A procedure's steps: "Check novelty effects, run full weekly cycles, watch guardrail metrics."
        steps = [False] * len(parts)
        if _opens_step([w.plain for w in parts[0]], first=True):  # most sentences open on no step
            steps = [n == 0 or _opens_step([w.plain for w in words]) for n, words in enumerate(parts)]
        procedure = sum(steps) >= 2
        # "Use class weights, SMOTE, PR-AUC, threshold, recall and focal loss": a short clause that
        # opens a list of names relates none of it.
        named = sum(_item(words) for words in parts[1:]) if len(parts) >= 4 else 0
        opens_list = named >= 3 and named >= 0.75 * (len(parts) - 1)
        for n, words in enumerate(parts):
            total += len(words)
            if n == 0 and opens_list and len(words) <= EXPLAINING_CLAUSE_WORDS:
                continue
            relating = _unvague(words)
            if (
                len(relating) >= EXPLAINING_CLAUSE_WORDS
                or any(w.plain in RELATIONAL for w in relating)
                or (procedure and steps[n])
            ):
                explained += len(words)
    return explained / total if total else 1.0


def unpunctuated_list(sentences: list[Sentence]) -> bool:
    """Whether the whole answer is terms run together with no break and no word that builds a
    sentence: "precision recall TP FP FN threshold tradeoff F1 harmonic mean PR curve". A clause
    that long would otherwise count as explaining by its length alone."""
    if len(sentences) != 1:
        return False
    words = sentences[0].words
    return (
        len(words) >= UNPUNCTUATED_LIST_WORDS
        and len({w.clause for w in words}) == 1
        and not any(w.plain in FILLERS or w.plain in RELATIONAL for w in words)
    )


def _opens_step(tokens: Sequence[str], first: bool = False) -> bool:
    """Whether the words open on a step (see _step), after any break or word like "then", or on
    one the speaker says they would take ("I'd make a test set from ..., score ... and check ...")."""
    start = next((i for i, t in enumerate(tokens) if t and t not in _CLAUSE_STARTS), len(tokens))
    if start < len(tokens) and tokens[start] in _SUBJECT_MODALS:
        return start + 1 < len(tokens) and _step(tokens, start + 1)
    return start < len(tokens) and _step(tokens, start, first)


def _item(words: Sequence[Word]) -> bool:
    """Whether a clause is a listed name: at most LIST_ITEM_WORDS content words, none relating."""
    content = [w for w in words if w.plain not in FILLERS]
    return 0 < len(content) <= LIST_ITEM_WORDS and not any(w.plain in RELATIONAL for w in words)


def _step(tokens: Sequence[str], i: int, first: bool = False) -> bool:
    """Whether the word at i is a verb that tells what to do, with its object: "pin the versions".
    The `first` step of a procedure shows it is one, unless its verb is rarely a noun: after "first"
    or "then", with a determiner, or with an object of two words ("Set all seeds", "Check novelty
    effects"), where "Test set of the weights" and "log loss" name."""
    if not (tokens[i] in _IMPERATIVES and _object(tokens, i + 1)):
        return False
    return (
        not first
        or tokens[i] not in _NOUNS_TOO
        or (i > 0 and tokens[i - 1] in _SEQUENCE)
        or tokens[i + 1] in _OBJECT_STARTS
        or (_object(tokens, i + 2) and tokens[i + 2] not in _GLUE)
    )


# Relations that name no relation: "X involves A and B", "it relates to C", "D plays a role too".
# They relate terms as "of" and "with" do (see glue_share), and say nothing of what a term does.
_VAGUE_RELATIONS = tuple(
    tuple(phrase.split())
    for phrase in """involves|involve|involved|relates to|relate to|is related to|are related to|has to do with|
    have to do with|is about|are about|is tied to|are tied to|is connected to|are connected to|
    is linked to|are linked to|connects to|deals with|touches on|concerns|plays a role|play a role|
    plays a part|play a part|has a role|have a role|come into play|comes into play|come into it|
    comes into it|come in|comes in|come up|comes up|factor in|figure in|are involved|is involved|
    are part of it|is part of it|are part of the picture|is part of the picture|tied together|
    kinda tied together|all tied together|leverage|leverages|leveraging|leveraged|relies on|rely on|
    relying on|plays into|play into|ties into|tie into|ties in|tie in|ties back|tie back|
    brings together|bring together|brings in|bring in|come together|comes together|go hand in hand|
    goes hand in hand|works with|work with|deal with|dealing with|plugs into|plug into|ties|tying|
    brings|bringing|plays|playing|comes into|come into|coming into|comes down to|come down to|
    feeds into|feed into|rounds out|round out|plays out|play out|lines up|line up|in relation to""".replace(
        "\n", " "
    ).split("|")
) + tuple(  # "plays a central role", "has an important part"
    (verb, "an" if size[0] in "aeiou" else "a", size, role)
    for verb in ("plays", "play", "playing", "has", "have")
    for size in ("central", "key", "big", "major", "crucial", "vital", "important", "huge", "large")
    for role in ("role", "part")
)
# And words that hedge or pad without relating anything.
_VAGUE = _VAGUE_RELATIONS + tuple(
    tuple(phrase.split())
    for phrase in """are relevant|is relevant|matter|matters|are important|is important|have an impact|
    has an impact|have an effect|has an effect|are a factor|is a factor|as well|also|too|there is|
    there are|theres|in some way|in some sense|somehow|and so on|all that|and stuff|stuff like that|
    you know""".replace("\n", " ").split("|")
)


def _by_first(phrases: tuple[tuple[str, ...], ...]) -> dict[str, list[tuple[str, ...]]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        out.setdefault(phrase[0], []).append(phrase)
    return out


_VAGUE_BY_FIRST = _by_first(_VAGUE)
_VAGUE_RELATIONS_BY_FIRST = _by_first(_VAGUE_RELATIONS)


def _spans(plain: Sequence[str], by_first: dict[str, list[tuple[str, ...]]]) -> set[int]:
    """The positions of the words that make up one of these phrases."""
    found: set[int] = set()
    if by_first.keys().isdisjoint(plain):
        return found  # most clauses and sentences
    for i, first in enumerate(plain):
        for phrase in by_first.get(first, ()):
            if tuple(plain[i : i + len(phrase)]) == phrase:
                found.update(range(i, i + len(phrase)))
    return found


def _unvague(words: list[Word]) -> list[Word]:
    """The clause's words but those of a relation that names no relation, and only when such a
    relation is all that relates its terms ("Deep learning involves neural networks and layers")."""
    vague = _spans([w.plain for w in words], _VAGUE_BY_FIRST)
    if not vague:
        return words
    rest = [w for i, w in enumerate(words) if i not in vague]
    # A connective of its own ("because", "so", "means", "makes") relates the clause: "it involves
    # computing the gradient because ..." explains.
    if any(w.plain in RELATIONAL for w in rest if w.plain not in FILLERS):
        return words
    return [w for w in rest if w.plain not in FILLERS]
