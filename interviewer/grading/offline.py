"""The offline grader: decides each key point from the answer's own words, with no network.

It reads the answer sentence by sentence. A key point is covered when all of its concepts (see
`bank.KeyPoint`) are expressed together, said of the point's subject, and partial when half of
them are and nothing there is denied. A concept negated right before it ("does not prevent")
contradicts the point. It reports the bank's misconceptions where a clause plainly states one, and
a sentence that states something wrong is evidence for nothing. Where the signals are weaker or
conflict (a negation further back, a contrast, a supposition) it gives neither credit nor an
error, and says it could not tell. No credit goes to the question's own words, and a bare or glued
list of terms is held to 2. The score comes from `model.compute_score`, the same formula the LLM
grader uses.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from interviewer.bank import KeyPoint, Misconception, Question
from interviewer.grading import text
from interviewer.grading.model import Finding, Grade, PointVerdict, Verdict, compute_score, shorten_quote

NAME = "offline"
# A "bare list of terms": less than this share of the words explain anything (text.explained_share).
LIST_EXPLAINED_SHARE = 0.15
# Terms chained into sentences with glue words ("The bias-variance trade-off is underfitting and
# overfitting with model complexity, regularization and the expected test error of ensembles"):
# see text.glue_share.
GLUE_SHARE = 0.23
GLUE_SHARE_SAID_ONCE = 0.30  # ... of a sentence that says once, unmistakably, what something does
GLUED_SENTENCE_WORDS = 14  # content words: the glued lists run long; prose has short dense sentences
PREDICATIONS = 2  # a sentence that says this often what something does is prose (text.predications)
GLUED_SHARE_OF_ANSWER = 0.75  # of the answer's content words, in glued sentences
LIST_CAP = 2.0
LIST_REASON = "a list of terms without explanation"
FATAL_CAP = 2.0  # an answer that gets the thing asked about wrong (a misconception marked `fatal`)
# An answer that states this many wrong claims is held to FATAL_CAP too, whatever each one's
# severity: on the labelled sets, answers with two errors are labelled 0-2 (306 of 307).
WRONG_CLAIMS = 2
_COUNTS = {2: "two", 3: "three", 4: "four"}
# An answer whose sentences mostly deny: negation answers deny in nine of ten sentences; correct
# answers at most in half (they deny misconceptions in passing).
DENIAL_SHARE = 0.75
DENIAL_SENTENCES = 2
ECHO_NEW_WORDS = 3  # fewer content words than this beyond the question's own: an echo
ECHO_CAP = 1.0
HYPOTHETICAL = frozenset({"if", "unless", "suppose", "imagine", "assuming"})
SUPPOSITIONS = HYPOTHETICAL | {"without"}  # sentence openings whose denials are supposed, not claimed
CONDITIONS = frozenset({"if", "unless", "provided", "assuming"})  # in a misconception's clauses: no error
CONDITION_OPENERS = frozenset({"if", "when", "whenever"})  # a clause so opened states a condition
_JOINERS = frozenset({"and", "but", "so", "then", "while", "whereas", "although", "though", "however"})
NON_ANSWERS = frozenset(
    {
        "",
        "idk",
        "i dont know",
        "i do not know",
        "dont know",
        "no idea",
        "pass",
        "skip",
        "n a",
        "na",
        "none",
        "nothing",
    }
)
COULD_NOT_TELL = "could not tell"

Phrase = tuple[str, ...]  # stemmed words

# How a concept occurs in a clause, from weakest to strongest evidence of the answer's claim:
# absent; in a clause a negation may deny (too far to tell); denied; said.
NONE, DOUBTFUL, NEGATED, AFFIRMED = 0, 1, 2, 3
# The subject a clause carries where it is about something the question's entities do not name.
UNNAMED = -1


class Concept(tuple[Phrase, ...]):
    """The alternative phrasings of one idea, indexed by their first word for fast lookup.

    Identity-hashed: a compiled concept is made once per question version and used as a key.
    """

    first: dict[str, tuple[Phrase, ...]]
    starts: frozenset[str]  # the words an alternative starts with
    # Words a match may not skip between two words of a phrase: for a misconception, the words of
    # the question's own terms ("a moving average of the gradient for each weight" must not read
    # as "a moving average of the weights").
    unskippable: frozenset[str]

    def __new__(cls, alternatives: Iterable[Phrase], unskippable: frozenset[str] = frozenset()) -> Concept:
        concept = super().__new__(cls, alternatives)
        concept.unskippable = unskippable
        by_first: dict[str, list[Phrase]] = {}
        for alt in concept:
            by_first.setdefault(alt[0], []).append(alt)
        concept.first = {k: tuple(v) for k, v in by_first.items()}
        concept.starts = frozenset(concept.first)
        return concept

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    # A concept of a key point that warns against something ("a random split leaks the future"):
    # advice against it ("never shuffle") agrees with the point rather than denying it.
    warned: bool = False


@dataclass(frozen=True)
class _Target:
    """A key point or a misconception: concepts to find together, said of a subject (`about`)."""

    concepts: tuple[Concept, ...]  # those with an alternative left (a point's own words are dropped)
    about: int | None  # index into _Compiled.entities


@dataclass(frozen=True)
class _Compiled:
    question_words: frozenset[str]
    entities: tuple[Concept, ...]  # the distinct `about`s of the question's key points and misconceptions
    points: tuple[_Target, ...]
    misconceptions: tuple[_Target, ...]
    # The key points' phrases, as sets of keys: a denial among them is the point's own words.
    phrases: tuple[frozenset[str], ...] = ()
    names: tuple[str, ...] = ()  # each entity as the bank first names it ("recall | sensitivity": recall)
    denials: tuple[Phrase, ...] = ()  # the phrases of its targets and entities that hold a negator


# What a span of clauses says of a target, in the order a span is preferred as the evidence: a
# point denied in full outranks one half said elsewhere, since the denial is what the candidate
# believes.
NOTHING, PARTIAL, CONTRADICTED, COVERED = range(4)


@dataclass(frozen=True)
class _Match:
    outcome: int
    affirmed: int
    found: int
    sentence: int = -1  # index into the reading's sentences
    clauses: tuple[int, int] = (0, 0)  # [first, end) clause indexes

    def rank(self) -> tuple[int, int, int]:
        return (self.outcome, self.affirmed, self.found)


_NO_MATCH = _Match(NOTHING, 0, 0)


def _concept(
    alternatives: str,
    question_words: frozenset[str] | None = None,
    unskippable: frozenset[str] = frozenset(),
) -> Concept:
    """Compile `a | b | c`; with `question_words`, drop alternatives made only of the question's words."""
    out = []
    for alt in alternatives.split("|"):
        keys = text.phrase_keys(alt)
        if keys and (question_words is None or not set(keys) <= question_words):
            out.append(keys)
    return Concept(out, unskippable)


# Compiled questions, shared by the grading threads: entries are immutable, and the lock makes each
# question version compile once. Questions are frozen, so one already seen is looked up by identity
# first: hashing its content costs about a twentieth of grading an answer (0.06 ms of 1 ms).
_cache: dict[tuple[str, str], _Compiled] = {}
_seen: dict[int, tuple[Question, _Compiled]] = {}  # the question is kept, so its id is not reused
_SEEN_MAX = 4096
_cache_lock = threading.Lock()


def _compile(question: Question) -> _Compiled:
    """The question's terms as stemmed phrases; computed once per question version."""
    with _cache_lock:
        seen = _seen.get(id(question))
        if seen is not None and seen[0] is question:
            return seen[1]
    key = (question.id, question.content_hash)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _compiled(question)
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()  # a process that loads banks again and again keeps no old ones alive
        _seen[id(question)] = (question, _cache[key])
        return _cache[key]


# Words of a key point that warn against what it names ("leaks", "is biased", "misleading").
_WARNING = frozenset(
    text.phrase_keys(
        """leak leaks leaking leakage biased bias misleading optimistic inflates inflated overfits
        overfitting fails fail wrong bad hurts breaks unreliable unstable avoid never pitfall trap"""
    )
)


# Words that judge what they stand before: a misconception's phrase may not skip one.
_JUDGING = frozenset(
    text.phrase_keys(
        """weak useless poor poorly bad badly worse worst unsuitable unreliable inappropriate wrong
        overkill insufficient misleading unnecessary pointless inadequate irrelevant harmful
        dangerous risky fragile brittle"""
    )
)


# Words that claim no identity: "the squared singular values relate to the variances" (or "are
# proportional to" them) does not say "singular values are the variances", so a misconception's
# phrase may not skip one either.
_LOOSE = frozenset(
    text.phrase_keys(
        """relate relates related involve involves linked connected tied proportional proportionally
        squared square root inverse inversely"""
    )
)


def _compiled(question: Question) -> _Compiled:
    q_words = text.vocabulary(question.prompt)
    targets: list[KeyPoint | Misconception] = [*question.key_points, *question.misconceptions]
    abouts = list(dict.fromkeys(t.about for t in targets if t.about))
    terms = frozenset(
        key
        for t in targets
        for concept in (*t.terms, *([t.about] if t.about else []))
        for alternative in concept.split("|")
        for key in text.phrase_keys(alternative)
    )

    def target(
        t: KeyPoint | Misconception,
        question_words: frozenset[str] | None,
        unskippable: frozenset[str] = frozenset(),
    ) -> _Target:
        return _Target(
            tuple(c for terms in t.terms if (c := _concept(terms, question_words, unskippable))),
            abouts.index(t.about) if t.about else None,
        )

    points = tuple(target(kp, q_words) for kp in question.key_points)
    for kp, point in zip(question.key_points, points, strict=True):
        if _WARNING & set(text.phrase_keys(kp.point)):
            for concept in point.concepts:
                concept.warned = True
    # A misconception may be stated in the question's own words: they are not dropped. Its phrases
    # skip no word of the question's terms, nor one that judges what it names ("BLEU is weak for
    # open-ended text" is no "BLEU for open-ended text"), as an error must be sure.
    misconceptions = tuple(target(m, None, terms | _JUDGING | _LOOSE) for m in question.misconceptions)
    entities = tuple(_concept(a) for a in abouts)
    phrases = [alt for t in (*points, *misconceptions) for c in t.concepts for alt in c]
    phrases += [alt for entity in entities for alt in entity]
    return _Compiled(
        question_words=q_words,
        entities=entities,
        names=tuple(_display(a, question) for a in abouts),
        points=points,
        phrases=tuple({frozenset(alt) for t in points for c in t.concepts for alt in c}),
        misconceptions=misconceptions,
        denials=tuple(alt for alt in phrases if text.NOT in alt),
    )


def _display(about: str, question: Question) -> str:
    """An entity's first name as the question's own texts write it ("mar" is "MAR", "rope" "RoPE")."""
    name = about.split("|")[0].strip()
    texts = [question.prompt, question.reference, *(kp.point for kp in question.key_points)]
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
    return next((m.group() for t in texts if (m := pattern.search(t))), name)


# Words before a name that make it what the clause compares with, not what it is about: "unlike
# L1, ...", "compared to classical ML it needs more data", "slower than a Transformer".
_COMPARED_WITH = frozenset({"unlike", "than", "versus", "vs"})
_COMPARED = frozenset({"compared", "opposed", "relative", "contrast", "contrasted"})  # ... to / with X
_ARTICLES = frozenset({"a", "an", "the"})


def _compared_with(sentence: text.Sentence, index: int) -> bool:
    """Whether the name starting at this word is what the sentence compares its subject with."""
    before = [w.plain for w in sentence.words[:index] if w.plain not in _ARTICLES][-2:]
    # "I'd prefer it to k-means", "preferred over a CNN"
    preferred = any(w.plain.startswith("prefer") for w in sentence.words[max(0, index - 5) : index])
    return bool(before) and (
        before[-1] in _COMPARED_WITH
        or (before[-1] in ("to", "with") and before[:1] and before[0] in _COMPARED)
        or before == ["instead", "of"]
        or (before[-1] in ("to", "over") and preferred)
    )


_RELATIVE = frozenset({"which", "whose", "who", "whom"})


_CONTRASTING = frozenset({"whereas", "while", "but"})


def _opens_contrast(
    sentence: text.Sentence, clause: tuple[text.Word, ...], words: frozenset[str] = frozenset({"whereas"})
) -> bool:
    """Whether the clause opens with "whereas" (or one of `words`): what it says is of something
    else than before."""
    return _opens_with(sentence, clause, words)


_PRONOUNS = frozenset({"it", "they"})


def _opens_with(sentence: text.Sentence, clause: tuple[text.Word, ...], words: frozenset[str]) -> bool:
    """Whether the clause's first word, fillers included, is one of `words`."""
    return next(w.plain for w in sentence.words if w.clause == clause[0].clause) in words


def _opens_relative(sentence: text.Sentence, clause: tuple[text.Word, ...]) -> bool:
    """Whether the clause opens with "which", "whose" or "who" (after "and")."""
    opening = [w.plain for w in sentence.words if w.clause == clause[0].clause][:2]
    return bool(set(opening) & _RELATIVE)


# Words that report a belief to warn against it rather than hold it: the clause they stand in, and
# the one after, state no misconception ("Some people think k-means is robust to outliers").
_REPORTED = tuple(
    tuple(frame.split())
    for frame in """common mistake|common misconception|classic mistake|frequent mistake|typical mistake|
    common error|common pitfall|mistake is to|misconception is|misconception that|myth that|is a myth|
    people think|people often think|people say|people believe|people assume|some think|many think|
    many believe|might think|tempting to|wrong to|naive view|a mistake to|an error to|bad idea to|
    mistake of""".replace("\n", "").split("|")
)
# Frames that judge what was said before them, in their clause or the one before: "Skipping the
# test set is a mistake", "Some teams skip it, which is wrong".
_JUDGED = tuple(
    tuple(frame.split())
    for frame in "is a mistake|is a bad idea|is an error|is wrong|be a mistake|be wrong|be a bad idea".split(
        "|"
    )
)
_FRAME_STARTS = frozenset(frame[0] for frame in (*_REPORTED, *_JUDGED))
# ... unless what follows is said against the belief: "the opposite of what people think: ...".
_AGAINST = frozenset({"opposite", "unlike", "contrary", "despite", "against"})


def _reported(sentence: text.Sentence) -> set[int]:
    """The raw clause numbers where a reported belief is said (the frame's and the next), or judged
    (the frame's and the one before)."""
    plain = [w.plain for w in sentence.words]
    out: set[int] = set()
    for i, first in enumerate(plain):
        if first not in _FRAME_STARTS:
            continue
        clause = sentence.words[i].clause
        for frame in _REPORTED:
            said = frame[0] == first and tuple(plain[i : i + len(frame)]) == frame
            if said and not _AGAINST & set(plain[max(0, i - 3) : i]):
                out |= {clause, clause + 1}
        for frame in _JUDGED:
            if frame[0] == first and tuple(plain[i : i + len(frame)]) == frame:
                out |= {clause - 1, clause}
    return out


_MODALS = frozenset({"would", "will", "could", "might", "can", "may"})
_APPROVING = frozenset(
    "fine ok okay good better best great work works help helps improve improves correct right valid enough".split()
)
_NEW_SUBJECTS = frozenset("which that who whom you we i they it he she this these those there".split())


def _topic_of_modal(sentence: text.Sentence, target: _Target, lo: int, hi: int) -> bool:
    """Whether the target, said in clauses lo..hi, is the subject of a modal that follows it at
    once: "Tuning hyperparameters on the test set would make the estimate optimistic" says what
    tuning on it leads to, and claims no one should."""
    found = [
        [
            (words[0].index, words[-1].index)
            for c in range(lo, hi)
            for alt in concept
            for words in _matches(sentence.clauses[c], alt)
        ]
        for concept in target.concepts
    ]
    if not all(found):
        return False
    start = min(begin for spans in found for begin, _ in spans)
    clause = sentence.words[start].clause
    modal = next((w.index for w in sentence.words[start:] if w.clause == clause and w.plain in _MODALS), None)
    if modal is None:
        return False
    # Every concept said before the modal, the last of them next to it: a word may stand between
    # ("... on the test set would"), but no new subject ("which would").
    ends = [max((end for _, end in spans if end < modal), default=None) for spans in found]
    if None in ends:
        return False
    between = sentence.words[max(e for e in ends if e is not None) + 1 : modal]
    if len(between) > 1 or any(w.plain in _NEW_SUBJECTS for w in between):
        return False
    # A modal that approves makes the claim after all ("Dropout at inference would be fine").
    return not any(w.plain in _APPROVING for w in sentence.words[modal + 1 :] if w.clause == clause)


def _listed(sentence: text.Sentence, clause: tuple[text.Word, ...]) -> bool:
    """A short clause that relates nothing: an item of a list ("SVMs", "gradient-boosted trees")."""
    words = [w for w in sentence.words if w.clause == clause[0].clause]
    return len(clause) <= text.LIST_ITEM_WORDS and not any(w.plain in text.RELATIONAL for w in words)


def _first_word(sentence: text.Sentence, clause: tuple[text.Word, ...], entity: Concept) -> int | None:
    """Where in its sentence the entity is first named within this clause, unless that names what
    the clause compares with ("unlike classical ML, such as logistic regression, ...")."""
    found = [words[0].index for alt in entity for words in _matches(clause, alt)]
    first = min(found, default=None)
    return None if first is None or _compared_with(sentence, first) else first


def _matches(
    clause: tuple[text.Word, ...], keys: Phrase, unskippable: frozenset[str] = frozenset()
) -> Iterator[list[text.Word]]:
    """Every occurrence of a phrase in a clause."""
    rest = clause
    while (found := text.find_phrase(rest, keys, unskippable)) is not None:
        yield found
        rest = tuple(w for w in rest if w.index > found[0].index)


def _outcome(states: list[int]) -> int:
    """What a span says of a target from how each of its concepts occurs there.

    Every concept said, none denied: covered; all said, one denied: the span states the opposite.
    Half the concepts said and nothing denied: partial; a span that denies anything, or may,
    is evidence for nothing.
    """
    k = len(states)
    negated, affirmed, doubtful = states.count(NEGATED), states.count(AFFIRMED), states.count(DOUBTFUL)
    if k and affirmed + negated + doubtful == k and negated:
        return CONTRADICTED
    if k and affirmed == k:
        return COVERED
    if not negated and not doubtful and k >= 2 and affirmed >= math.ceil(k / 2):
        return PARTIAL
    return NOTHING


@dataclass
class _Reading:
    """An answer's sentences, with what each clause says of each concept, computed once per concept."""

    answer: str
    compiled: _Compiled
    sentences: list[text.Sentence] = field(init=False)
    # The sentences that state a misconception: evidence for no key point.
    masked: set[int] = field(default_factory=set)
    # Sentences whose affirmations are not taken at their word (in an answer that mostly denies).
    distrusted: set[int] = field(default_factory=set)
    # Per sentence, the clauses taken back after they are said ("..., unnecessary.", "That's a myth.").
    disowned: list[frozenset[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.sentences = text.split_sentences(self.answer)
        self.disowned = text.disowned(self.sentences, self.compiled.phrases)
        self._states: dict[Concept, Sequence[Sequence[int]]] = {}
        self._entity_states: dict[Concept, list[list[bool]]] = {}
        self._spoken_for: dict[int, set[int]] = {}
        self._conditionals: dict[int, list[tuple[int, int, int]]] = {}
        self._keys: dict[int, frozenset[str]] = {}  # id(clause) -> its words' keys
        self._negated = [any(w.negator for w in s.words) for s in self.sentences]
        self._hung = [text.hung_on_vague(s) for s in self.sentences]
        self._asked = [text.asks(s) for s in self.sentences]  # "Is it about momentum?" claims nothing
        # Each word's clauses, as (sentence, clause) indexes: where a concept starting with it may be.
        self._clauses_with: dict[str, list[tuple[int, int]]] = {}
        for s_index, sentence in enumerate(self.sentences):
            for c_index, clause in enumerate(sentence.clauses):
                for key in self._clause_keys(clause):
                    self._clauses_with.setdefault(key, []).append((s_index, c_index))
        self._answer_keys = frozenset(self._clauses_with)  # every word of the answer's clauses
        # The table of a concept the answer never starts: most of a question's concepts, for most
        # answers. Shared between them, so never changed.
        self._absent = tuple((NONE,) * len(s.clauses) for s in self.sentences)
        # Which subject each clause is about, the entity it names first ("fine-tuning starts from the
        # pre-trained weights" is about fine-tuning), and the subject before it that "it" and "this"
        # refer to: within a sentence the last one named, into the next sentence the sentence's
        # own subject, its first-named entity ("Fine-tuning starts from pretrained weights. It ...").
        self.named: list[list[int | None]] = []
        self.carried: list[list[int | None]] = []
        last: int | None = None
        entities = self.compiled.entities
        for s_index, sentence in enumerate(self.sentences):
            named_here: list[int | None] = []
            carried_here: list[int | None] = []
            first_of_sentence: tuple[int, int] | None = None  # (word index, entity)
            compared: int | None = None  # what the clause before compared its subject with
            for c_index, clause in enumerate(sentence.clauses):
                mentioned = [e for e, entity in enumerate(entities) if self.names(entity)[s_index][c_index]]
                at = {
                    e: where
                    for e in mentioned
                    if (where := _first_word(sentence, clause, entities[e])) is not None
                    # "Unlike classical ML (logistic regression, SVMs), ...": examples of what was
                    # compared with name no subject either.
                    and not (e == compared and _listed(sentence, clause))
                }
                subject = min(at, key=lambda e: (at[e], e)) if at else None
                if subject is not None and last is not None and _opens_with(sentence, clause, _PRONOUNS):
                    # "..., it learns features itself vs hand-engineered ones in classical ML": "it"
                    # is the subject, and what the clause names later is its object.
                    subject = None
                named_here.append(subject)
                # "... fewer parameters than a fully-connected layer, which ignores the layout": a
                # relative clause goes on about what was compared with.
                relative = compared is not None and _opens_relative(sentence, clause)
                if relative:
                    carried_here.append(compared)
                elif _opens_contrast(sentence, clause):
                    # "L2 shrinks weights smoothly, whereas with an absolute penalty they reach
                    # zero": not about L2, and maybe about what the question does not name.
                    carried_here.append(UNNAMED)
                    last = UNNAMED  # and so does what follows it, until a subject is named
                else:
                    carried_here.append(last)
                if mentioned:
                    compared = next((e for e in mentioned if e not in at), None)
                if subject is not None:
                    last = subject
                    if first_of_sentence is None:
                        first_of_sentence = (at[subject], subject)
            if first_of_sentence is not None:
                last = first_of_sentence[1]
            self.named.append(named_here)
            self.carried.append(carried_here)

    def names(self, entity: Concept) -> list[list[bool]]:
        if entity not in self._entity_states:
            self._entity_states[entity] = [
                [
                    any(
                        text.find_phrase(clause, alt)
                        for key in entity.starts & self._clause_keys(clause)
                        for alt in entity.first[key]
                    )
                    for clause in s.clauses
                ]
                for s in self.sentences
            ]
        return self._entity_states[entity]

    def mask(self, s_index: int) -> None:
        """Take this sentence out of the evidence for key points."""
        self.masked.add(s_index)
        self._states.clear()

    def _clause_keys(self, clause: tuple[text.Word, ...]) -> frozenset[str]:
        keys = self._keys.get(id(clause))
        if keys is None:
            keys = self._keys[id(clause)] = frozenset(w.key for w in clause)
        return keys

    def _found(
        self,
        s_index: int,
        clause: tuple[text.Word, ...],
        alt: Phrase,
        unskippable: frozenset[str] = frozenset(),
    ) -> Iterator[list[text.Word]]:
        keys = self._clause_keys(clause)
        if s_index in self.masked or not keys.issuperset(alt):
            return  # most phrases share no word with most clauses
        yield from _matches(clause, alt, unskippable)

    def statements(self) -> int:
        """How many sentences say enough to state something (three content words or more)."""
        return sum(sum(len(c) for c in s.clauses) >= 3 for s in self.sentences)

    def denying(self) -> list[int]:
        """The sentences stating something that hold a negation of their own (not a phrase's)."""
        return [
            i
            for i, s in enumerate(self.sentences)
            if sum(len(c) for c in s.clauses) >= 3
            and any(w.negator and w.index not in self.spoken_for(i) and w.plain != "non" for w in s.words)
        ]

    def spoken_for(self, s_index: int) -> set[int]:
        """The words of a sentence that belong to one of the question's phrases ("not zero-centred")."""
        if s_index not in self._spoken_for:
            self._spoken_for[s_index] = {
                w.index
                for clause in self.sentences[s_index].clauses
                if any(w.negator for w in clause)
                for alt in self.compiled.denials
                for found in self._found(s_index, clause, alt)
                for w in found
            }
        return self._spoken_for[s_index]

    def state(self, concept: Concept) -> Sequence[Sequence[int]]:
        """Per sentence, per clause: whether the concept is absent, doubtful, negated or affirmed there."""
        table = self._states.get(concept)
        if table is not None:
            return table
        starts = concept.starts & self._answer_keys
        if not starts:
            table = self._absent  # most of a question's concepts start with no word of the answer
        else:
            rows = [list(row) for row in self._absent]
            for key in starts:
                for s_index, c_index in self._clauses_with[key]:
                    if s_index not in self.masked and rows[s_index][c_index] != AFFIRMED:
                        level = self._level(concept, concept.first[key], s_index, c_index)
                        rows[s_index][c_index] = max(rows[s_index][c_index], level)
            table = rows
        self._states[concept] = table
        return table

    def _level(self, concept: Concept, alts: tuple[Phrase, ...], s_index: int, c_index: int) -> int:
        """How the strongest match of these alternatives of the concept occurs in one clause."""
        sentence = self.sentences[s_index]
        clause = sentence.clauses[c_index]
        keys = self._clause_keys(clause)
        found = (
            m for alt in alts if keys.issuperset(alt) for m in _matches(clause, alt, concept.unskippable)
        )
        if self._asked[s_index]:
            return NONE
        disowned = c_index in self.disowned[s_index]
        hung = self._hung[s_index]
        if not self._negated[s_index]:
            # Nothing in the sentence can deny a match (most sentences): said, unless taken back or
            # only named in a list that a vague relation hangs ("it involves A, B and C").
            best = NONE
            for words in found:
                if not disowned and not (hung and all(w.index in hung for w in words)):
                    return AFFIRMED
                best = DOUBTFUL
            return best
        # "Without a non-linearity, layers collapse into one": a denial supposed, not claimed.
        supposed = sentence.words[0].plain in SUPPOSITIONS
        best = NONE
        for words in found:
            negator = text.negator_of(sentence, words)
            if negator is not None:
                # A contrast or a hedge is too local to contradict the point.
                weak = (
                    text.weak_negation(sentence, negator)
                    or (concept.warned and text.advises_against(sentence, negator))
                    or text.across_adjunct(sentence, negator, words)
                )
                best = max(best, DOUBTFUL if supposed or weak else NEGATED)
            elif (
                disowned
                or (hung and all(w.index in hung for w in words))
                or text.denied_in_clause(sentence, words, self.spoken_for(s_index))
            ):
                best = max(best, DOUBTFUL)
            else:
                return AFFIRMED
        return best

    def judge(self, target: _Target, s_index: int, lo: int, hi: int) -> _Match:
        states = []
        for concept in target.concepts:
            cells = self.state(concept)[s_index][lo:hi]
            level = max(cells, default=NONE)
            if level == AFFIRMED and NEGATED in cells:
                # Said and denied in one breath ("on small tabular data classical models are never
                # competitive"): which one the candidate means is beyond this grader.
                level = DOUBTFUL
            states.append(level)
        return _Match(
            _outcome(states),
            states.count(AFFIRMED),
            sum(s != NONE for s in states),
            s_index,
            (lo, hi),
        )

    def best(self, point: _Target) -> _Match:
        """The clause span that says most of the point: whole sentences, or where an `about` binds."""
        best = _NO_MATCH
        tables = [self.state(concept) for concept in point.concepts]
        for s_index, sentence in enumerate(self.sentences):
            if not any(any(table[s_index]) for table in tables):
                continue  # none of its concepts here (NONE is 0): every span would say nothing
            for lo, hi in self.spans(point, s_index, [(0, len(sentence.clauses))]):
                match = self.judge(point, s_index, lo, hi)
                if s_index in self.distrusted and match.outcome in (PARTIAL, COVERED):
                    continue
                if match.rank() > best.rank():
                    best = match
        return best

    def said_of_another(self, point: _Target, bound: _Match) -> tuple[_Match, int] | None:
        """Where the point is said in full of another of the question's subjects and nowhere of its
        own ("recall is the fraction of predicted positives that are right" says precision's point
        of recall): that span and the subject it names."""
        if point.about is None or bound.outcome == COVERED:
            return None
        unbound = replace(point, about=None)
        free = self.best(unbound)
        if free.outcome != COVERED or self.sentences[free.sentence].words[0].plain in HYPOTHETICAL:
            return None  # "If you tuned on the test set, ..." supposes, and claims nothing of it
        # Two subjects set against each other ("LoRA updates all the weights, while full fine-tuning
        # trains small adapters"): the point is read in the fewest clauses that say it, each side of
        # the contrast. Elsewhere the whole span: "the pretrained weights act as an initialization,
        # so fine-tuning needs less data" names pre-training in what only qualifies fine-tuning.
        first, end = free.clauses
        sentence = self.sentences[free.sentence]
        if any(_opens_contrast(sentence, sentence.clauses[c], _CONTRASTING) for c in range(first + 1, end)):
            lo, hi = min(
                (
                    (a, b)
                    for a in range(first, end)
                    for b in range(a + 1, end + 1)
                    if self.judge(unbound, free.sentence, a, b).outcome == COVERED
                ),
                key=lambda span: (span[1] - span[0], span[0]),
            )
            free = replace(free, clauses=(lo, hi))
        lo, hi = free.clauses
        named = {e for e in self.named[free.sentence][lo:hi] if e is not None}
        carried = self.carried[free.sentence][lo]
        if self.named[free.sentence][lo] is None and carried is not None and carried != UNNAMED:
            named.add(carried)  # "It ..." goes on about the subject before
        if point.about in named or not named:
            return None
        return free, min(named)

    def spans(
        self, target: _Target, s_index: int, windows: list[tuple[int, int]]
    ) -> Iterator[tuple[int, int]]:
        """The spans within each window where the target's subject is what is talked about."""
        if target.about is None:
            yield from windows
            return
        named, carried = self.named[s_index], self.carried[s_index]
        for first, end in windows:
            for lo in range(first, end):
                if named[lo] is None and carried[lo] not in (None, target.about):
                    continue  # the clause goes on about another subject ("too small ..., and you get NaNs")
                said_of = named[lo] == target.about or (named[lo] is None and carried[lo] == target.about)
                for hi in range(lo + 1, end + 1):
                    subject = named[hi - 1]
                    if subject is not None and subject != target.about:
                        break  # another subject starts here
                    if hi - 1 > lo and subject is None:
                        referent = named[hi - 2] if named[hi - 2] is not None else carried[hi - 2]
                        if carried[hi - 1] not in (None, target.about, referent):
                            break  # "..., which ignores the layout" goes on about what was compared with
                    said_of = said_of or subject == target.about
                    if said_of:
                        yield lo, hi

    def phrases(
        self, target: _Target, match: _Match, *, subject: bool = False
    ) -> list[frozenset[tuple[int, int]]]:
        """Each occurrence of the target's concepts in the matched span, as (sentence, word index)s;
        with `subject`, of the name of what it is about too."""
        s_index = match.sentence
        clauses = self.sentences[s_index].clauses[match.clauses[0] : match.clauses[1]]
        concepts = list(target.concepts)
        if subject and target.about is not None:
            concepts.append(self.compiled.entities[target.about])
        return [
            frozenset((s_index, w.index) for w in words)
            for concept in concepts
            for alt in concept
            for clause in clauses
            for words in self._found(s_index, clause, alt, concept.unskippable)
        ]

    def misconception(self, target: _Target) -> Iterator[_Match]:
        """In each sentence, the first span that states all of the misconception's concepts, none
        of them denied.

        Stricter than for key points: the concepts must sit in one run of clauses joined by "and"
        with no negation anywhere in it, since a correct answer often names a misconception to deny
        it ("it is not the case that L2 makes weights exactly zero"). A condition and what it leads
        to ("if it's too large, training is slow") are such a run too, when the misconception is
        split between them: the sentence then claims the relation, not the condition.
        """
        if not all(any(AFFIRMED in row for row in self.state(concept)) for concept in target.concepts):
            return  # a concept said nowhere: most misconceptions, and no span need be judged
        for s_index, sentence in enumerate(self.sentences):
            # "If you tuned on the test set, you'd overfit it" claims nothing wrong by itself.
            hypothetical = sentence.words[0].plain in HYPOTHETICAL
            windows: list[tuple[tuple[int, int], int | None]] = (
                [] if hypothetical else [(w, None) for w in self.windows(s_index)]
            )
            windows += [((first, end), consequence) for first, consequence, end in self.conditionals(s_index)]
            reported = _reported(sentence)
            for window, consequence in windows:
                match = self._stated(target, s_index, window, consequence)
                # "A common mistake is to think L2 makes weights sparse" warns against it.
                if match is not None and sentence.clauses[match.clauses[0]][0].clause not in reported:
                    yield match
                    break

    def _stated(
        self, target: _Target, s_index: int, window: tuple[int, int], consequence: int | None
    ) -> _Match | None:
        """The first span of the window that states the misconception plainly; with `consequence`,
        the clause where a condition's consequence starts, a span that relates the two."""
        sentence = self.sentences[s_index]
        for lo, hi in self.spans(target, s_index, [window]):
            if consequence is not None and not lo < consequence < hi:
                continue
            match = self.judge(target, s_index, lo, hi)
            if match.outcome != COVERED or match.affirmed != len(target.concepts):
                continue
            found = [
                m
                for c in range(lo, hi)
                for concept in target.concepts
                for alt in concept
                if (m := text.find_phrase(sentence.clauses[c], alt, concept.unskippable))
            ]
            if text.clause_negated(sentence, found) or _topic_of_modal(sentence, target, lo, hi):
                continue
            if consequence is None:
                # "More data won't help if the split is broken" narrows the claim to a case.
                raw = {sentence.clauses[c][0].clause for c in range(lo, hi)}
                if any(w.plain in CONDITIONS and w.clause in raw for w in sentence.words):
                    continue
                return match
            # A misconception said whole in the condition is only supposed, and said whole in the
            # consequence is narrowed to a case; split between them, it is the relation claimed.
            n = len(target.concepts)
            if (
                sum(self._in(concept, sentence, lo, consequence) for concept in target.concepts) < n
                and sum(self._in(concept, sentence, consequence, hi) for concept in target.concepts) < n
            ):
                return match
        return None

    @staticmethod
    def _in(concept: Concept, sentence: text.Sentence, lo: int, hi: int) -> bool:
        return any(
            text.find_phrase(sentence.clauses[c], alt, concept.unskippable)
            for c in range(lo, hi)
            for alt in concept
        )

    def conditionals(self, s_index: int) -> list[tuple[int, int, int]]:
        """Each condition of the sentence with what it leads to, as (first, consequence, end) clause
        indexes: a run of clauses opened by "if" or "when", the short items listed after it ("if
        it's noisy, oscillates or diverges"), then the run of clauses that follows."""
        if s_index in self._conditionals:
            return self._conditionals[s_index]
        sentence = self.sentences[s_index]
        groups = sentence.groups()
        out = self._conditionals[s_index] = []
        for g, (first, end) in enumerate(groups):
            if not self._opens_condition(sentence, (first, end)):
                continue
            after = g + 1
            while after < len(groups) and (
                self._listed_item(sentence, groups[after]) or self._contrasted(sentence, groups[after])
            ):
                after += 1
            if after < len(groups) and not self._opens_condition(sentence, groups[after]):
                out.append((first, *groups[after]))
        return out

    @staticmethod
    def _opening(sentence: text.Sentence, group: tuple[int, int]) -> list[str]:
        """The words a run's first clause starts with, the word that joined it first ("and", "but")."""
        number = sentence.clauses[group[0]][0].clause
        return [w.plain for w in sentence.words if w.clause == number][:2]

    def _opens_condition(self, sentence: text.Sentence, group: tuple[int, int]) -> bool:
        """Whether the run opens with "if" or "when" ("X is when Y" defines X, and states no condition)."""
        opening = [w for w in self._opening(sentence, group) if w not in _JOINERS]
        return bool(opening) and opening[0] in CONDITION_OPENERS

    def _contrasted(self, sentence: text.Sentence, group: tuple[int, int]) -> bool:
        """A run that "but" joins to the condition before it ("if the training loss is low but the
        validation loss is much higher, ...")."""
        return self._opening(sentence, group)[:1] == ["but"]

    @staticmethod
    def _listed_item(sentence: text.Sentence, group: tuple[int, int]) -> bool:
        """A run that only lists more items of the condition before it ("oscillates or diverges")."""
        first, end = group
        return end - first == 1 and _listed(sentence, sentence.clauses[first])

    def windows(self, s_index: int) -> list[tuple[int, int]]:
        """Runs of clauses joined by "and", cut where a clause names another of the question's subjects
        ("precision is about the positive predictions and recall about the actual positives")."""
        out = []
        for first, end in self.sentences[s_index].groups():
            start, seen = first, None
            for c in range(first, end):
                named = self.named[s_index][c]
                if named is not None and seen is not None and named != seen:
                    out.append((start, c))
                    start = c
                seen = named if named is not None else seen
            out.append((start, end))
        return out


def _glued(answer: str, sentences: list[text.Sentence]) -> bool:
    """Whether the answer is terms glued together (see text.glue_share): as a whole, and in long
    sentences, since a short dense one ("the mean and variance of the test batch") lists nothing,
    that make up most of it, since an answer that explains around its enumerations ("for data:
    schema, types, ranges, null rates…") is no list. A sentence that says what things do (see
    text.predications) is prose however many "of"s and commas it holds: "L1 adds the sum of
    absolute values of the weights to the loss and drives many of them to zero, while L2 ..." was
    held to 2 as a list."""
    if text.glue_share(answer) < GLUE_SHARE:
        return False
    # As written: the pieces a sentence is read in after an abbreviation ("i.i.d.") are one sentence.
    sizes: dict[str, int] = {}
    for s in sentences:
        sizes[s.quote] = sizes.get(s.quote, 0) + sum(len(c) for c in s.clauses)
    glued = sum(
        size for quote, size in sizes.items() if size >= GLUED_SENTENCE_WORDS and _glued_sentence(quote)
    )
    return glued > 0 and glued >= GLUED_SHARE_OF_ANSWER * sum(sizes.values())


def _glued_sentence(quote: str) -> bool:
    """Whether a sentence glues terms: its glue share is a list's, and it says too little of what
    things do. One unmistakable predication ("the mean ... is approximately normal whatever their
    distribution, with standard error σ/√n") asks for the glue of a list outright."""
    said, sure = text.predications(quote)
    # "it computes the thing that the layer then brings into ...": a list hung on a vague
    # relation outweighs a predication.
    hung = text.vague_lists(quote)
    if said >= PREDICATIONS + hung:
        return False
    return text.glue_share(quote) >= (GLUE_SHARE_SAID_ONCE if sure > hung else GLUE_SHARE)


def _swaps(
    question: Question, compiled: _Compiled, reading: _Reading, first: list[_Match]
) -> list[tuple[int, Finding]]:
    """The points an answer says of each other's subject, as the sentence and the error that says so,
    when it swaps what it compares ("sigmoid outputs values between -1 and 1 and tanh between 0 and
    1"): at least one point of each of two subjects said of the other, and more points said of the
    wrong subject than of their own. One way only, or fewer, and a contrast may have been misread
    ("unlike precision, recall ..."): nothing is said."""
    found: list[tuple[int, int, int, Finding]] = []  # (own subject, other subject, sentence, error)
    for kp, point, read in zip(question.key_points, compiled.points, first, strict=True):
        if point.about is not None and (said := reading.said_of_another(point, read)):
            span, other = said
            names = compiled.names
            claim = f"Says of {names[other]} what holds for {names[point.about]}: {kp.point}"
            error = Finding(text=claim, severity="major", evidence=_quote(reading.sentences[span.sentence]))
            found.append((point.about, other, span.sentence, error))
    attributed = sum(
        p.about is not None and m.outcome == COVERED for p, m in zip(compiled.points, first, strict=True)
    )
    pairs = {(own, other) for own, other, _, _ in found}
    swapped = [(s_index, error) for own, other, s_index, error in found if (other, own) in pairs]
    return swapped if swapped and len(found) > attributed else []


def _at_most_partial(verdicts: list[PointVerdict], why: str) -> list[PointVerdict]:
    """The verdicts with every covered point held to partial, saying why."""
    return [
        v.model_copy(update={"verdict": Verdict.partial, "why": why}) if v.verdict is Verdict.covered else v
        for v in verdicts
    ]


def _quote(sentence: text.Sentence | None) -> str | None:
    if sentence is None:
        return None
    return shorten_quote(sentence.quote)


def _overlap(a: _Match, b: _Match) -> bool:
    return a.sentence == b.sentence and a.clauses[0] < b.clauses[1] and b.clauses[0] < a.clauses[1]


class OfflineGrader:
    """Deterministic, embedded, no network: an estimate of what an interviewer would grade."""

    name = NAME

    def grade(self, question: Question, answer: str) -> Grade:
        started = time.perf_counter()
        grade = self._grade(question, answer)
        grade.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return grade

    def _grade(self, question: Question, answer: str) -> Grade:
        compiled = _compile(question)
        reading = _Reading(answer, compiled)
        sentences = reading.sentences
        plain = " ".join(w.plain for s in sentences for w in s.words)
        if plain in NON_ANSWERS:
            return self._empty(question)

        # The key points as first read, then the misconceptions: a wrong claim the bank knows of is
        # an error, and the sentence that states it is evidence for nothing; unless a key point
        # covered in the same words explains it ("the fraction of predicted positives that are
        # actually positive" is not "the fraction of actual positives").
        first = [reading.best(p) for p in compiled.points]
        swaps = _swaps(question, compiled, reading, first)
        errors: list[Finding] = []
        stated: set[int] = set()  # sentences where a misconception is reported
        fatal: list[str] = []  # the misconceptions stated that get the thing asked about wrong
        for misconception, target in zip(question.misconceptions, compiled.misconceptions, strict=True):
            standing = []
            for match in reading.misconception(target):
                wrong = reading.phrases(target, match)
                # Only a point about the same subject can explain it: "the fully-connected network
                # is the one with local connectivity" is no right statement about CNNs.
                right = [
                    phrase
                    for point, m in zip(compiled.points, first, strict=True)
                    if m.outcome == COVERED and _overlap(m, match) and target.about in (None, point.about)
                    for phrase in reading.phrases(point, m, subject=True)
                ]
                if not all(any(phrase <= r for r in right) for phrase in wrong):
                    standing.append(match.sentence)  # not every word of it belongs to a right statement
            if standing:
                stated.update(standing)
                if misconception.fatal:
                    fatal.append(misconception.point)
                errors.append(
                    Finding(
                        text=misconception.point,
                        severity=misconception.severity,
                        evidence=_quote(sentences[standing[0]]),
                        why=misconception.why,
                    )
                )
        for s_index in stated:
            reading.mask(s_index)
        # An answer that mostly says what things are not ("dropout doesn't zero units; it has nothing
        # to do with ensembles; averaging is not what it does") credits nothing it denies nearby.
        denying = reading.denying()
        if len(denying) >= DENIAL_SENTENCES and len(denying) >= DENIAL_SHARE * reading.statements():
            reading.distrusted.update(denying)

        verdicts: list[PointVerdict] = []
        contradictions: list[Finding] = []
        for index, (kp, point) in enumerate(zip(question.key_points, compiled.points, strict=True)):
            match = reading.best(point) if reading.masked or reading.distrusted else first[index]
            withdrawn = match.outcome == NOTHING and first[index].outcome in (PARTIAL, COVERED)
            verdict, finding = self._judge(kp, match, sentences, withdrawn)
            verdicts.append(verdict)
            if finding and match.sentence not in stated:  # the misconception already says it
                contradictions.append(finding)
        errors = contradictions + errors
        # Where a misconception is reported, the sentence is wrong already.
        errors += [finding for s_index, finding in swaps if s_index not in stated]
        swapped = [finding for _, finding in swaps]

        cap = cap_reason = None
        score: float | None = None
        improvements: list[str] = []
        said = {w.key for s in sentences for c in s.clauses for w in c if not w.negator}
        if len(said - compiled.question_words) < ECHO_NEW_WORDS:
            cap = ECHO_CAP
            cap_reason = (
                "the answer restates the question without answering it"
                if len(said) >= ECHO_NEW_WORDS
                else "the answer is too short to show anything"
            )
        elif (
            text.explained_share(sentences) < LIST_EXPLAINED_SHARE
            or _glued(answer, sentences)
            or text.unpunctuated_list(sentences)
        ):
            cap, cap_reason = LIST_CAP, LIST_REASON
            improvements.append(
                "Explain each idea in a full sentence: a list of terms shows recognition, not understanding."
            )
            verdicts = _at_most_partial(verdicts, "named, not explained")
        elif fatal or swapped:
            # What the rest of the answer says is built on the wrong thing: "Dropout is a data
            # augmentation method: ... It's turned off at inference" is no answer about dropout, and
            # no point of it is known well (the schedule reads verdicts). The cap alone sets the score.
            cap = FATAL_CAP
            cap_reason = f"it gets what was asked wrong: {fatal[0] if fatal else swapped[0].text}"
            score = compute_score(verdicts, errors, cap)
            verdicts = _at_most_partial(verdicts, "said in an answer that gets what was asked wrong")
        elif len({e.text for e in errors}) >= WRONG_CLAIMS:
            # Two wrong claims ("too big a learning rate is just slow", "neural networks reach the
            # global minimum"): each alone is a deduction, together no interviewer passes the answer.
            cap = FATAL_CAP
            claims = len({e.text for e in errors})
            cap_reason = f"it states {_COUNTS.get(claims, claims)} wrong claims"

        improvements += [
            ("State precisely: " if v.verdict is Verdict.partial else "Cover: ") + v.point
            for v in verdicts
            if v.verdict is not Verdict.covered
        ]
        # A contradicted or misattributed point is in the list already, as one to cover.
        listed = {e.text for e in (*contradictions, *swapped)}
        improvements += [f"Correct: {e.text}" for e in errors if e.text not in listed]
        return Grade(
            grader=NAME,
            score=score if score is not None else compute_score(verdicts, errors, cap),
            key_points=verdicts,
            errors=errors,
            strengths=[v.point for v in verdicts if v.verdict is Verdict.covered],
            improvements=improvements,
            cap=cap,
            cap_reason=cap_reason,
        )

    @staticmethod
    def _judge(
        kp: KeyPoint, m: _Match, sentences: list[text.Sentence], withdrawn: bool
    ) -> tuple[PointVerdict, Finding | None]:
        quote = _quote(sentences[m.sentence]) if m.outcome != NOTHING else None

        def verdict(v: Verdict, why: str | None = None, evidence: str | None = quote) -> PointVerdict:
            return PointVerdict(point=kp.point, weight=kp.weight, verdict=v, evidence=evidence, why=why)

        if m.outcome == COVERED:
            return verdict(Verdict.covered), None
        if m.outcome == PARTIAL:
            return verdict(Verdict.partial), None
        if withdrawn:
            why = f"{COULD_NOT_TELL}: the words that seem to say it also state a misconception"
            return verdict(Verdict.missing, why, None), None
        if m.outcome == CONTRADICTED:
            return (
                verdict(Verdict.missing, "the answer states the opposite"),
                Finding(text=f"Contradicts: {kp.point}", severity="major", evidence=quote),
            )
        if m.found > m.affirmed:
            return verdict(Verdict.missing, f"{COULD_NOT_TELL}: part of it is denied", None), None
        return verdict(Verdict.missing, evidence=None), None

    def _empty(self, question: Question) -> Grade:
        verdicts = [
            PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.missing)
            for kp in question.key_points
        ]
        return Grade(
            grader=NAME,
            score=0.0,
            key_points=verdicts,
            improvements=["Give an answer: even a partial one can be graded and improved."],
            cap=0.0,
            cap_reason="no answer",
        )
