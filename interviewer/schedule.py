"""Which question is due: FSRS over the key points' verdicts, and the plan toward an interview date.

The unit is the key point. Every answer that counts is a review of each key point of its question,
rated from the point's verdict: covered → good, partial (or said only after a follow-up) → hard,
missing or contradicted → again; a complete answer without errors given in at most half its time →
easy; a skipped question → again for every point. The candidate's own rating of an answer (after a
practice answer, or with `interviewer review`) rates every key point of it instead.

- An answer counts when it is the first to its question in its session: a retry in practice comes
  after the feedback and the reference, so it shows no recall.
- Failed and pending grades are no reviews (`interviewer grade` makes them reviews).
- An answer to an older version of its question (its content hash differs from the bank's) is weaker
  evidence: it rates no better than hard. Key points are known by their statement: one the bank no
  longer has is forgotten, a new one is due at once.
- A question the bank no longer has is never scheduled.

A question is due when its first key point is. A key point is retained while it has been answered
right (hard or better) and `fsrs` puts the chance of recalling it now at or above the desired
retention. The cards are replayed from the stored reviews (fuzzing off: the same history gives the
same schedule) and cached per question in a file beside the bank cache, keyed by everything the
replay reads; the database keeps only what cannot be derived (the candidate's ratings).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsrs import Card, Rating, Scheduler

from interviewer.defaults import DEFAULT_PER_QUESTION
from interviewer.errors import UsageError

if TYPE_CHECKING:
    from interviewer.bank import Question
    from interviewer.store import ReviewRow, Store

RATINGS: dict[str, Rating] = {
    "again": Rating.Again,
    "hard": Rating.Hard,
    "good": Rating.Good,
    "easy": Rating.Easy,
}
RATING_NAMES = {rating: name for name, rating in RATINGS.items()}
DEFAULT_RETENTION = 0.9  # fsrs's own default desired retention
LOWEST_RETENTION, HIGHEST_RETENTION = 0.7, 0.99
QUICK_SHARE = 0.5  # of the time limit: a complete answer given this fast rates easy
DEFAULT_PER_DAY = 5  # questions a day a plan without a date assumes
MAX_PLAN_DAYS = 366
FORECAST_DAYS = 14
# Bump when the replay changes: every cached card is then replayed again.
SCHEDULE_VERSION = 1

# Preferences the planner remembers in the database.
UNTIL_KEY, RETENTION_KEY = "plan.until", "plan.retention"


def parse_rating(text: str) -> str | None:
    """A rating the candidate typed (again, hard, good, easy, or a first letter; `auto` for the
    grade's own): its name, or None for auto."""
    word = text.strip().lower()
    if word in ("auto", "grade"):
        return None
    for name in RATINGS:
        if word in (name, name[0]):
            return name
    raise UsageError(f"unknown rating {text!r}: use again, hard, good, easy, or auto for the grade's own")


def check_retention(value: float) -> float:
    if not LOWEST_RETENTION <= value <= HIGHEST_RETENTION:  # NaN fails it too
        raise UsageError(
            f"retention {value:g} is out of range: give a probability from {LOWEST_RETENTION} to "
            f"{HIGHEST_RETENTION} (0.9: recall nine key points in ten on the day)"
        )
    return value


def scheduler(retention: float = DEFAULT_RETENTION) -> Scheduler:
    # No learning steps: a practice answer is a day's review, not a flashcard seen again in ten
    # minutes. No fuzzing: the same history always gives the same schedule.
    return Scheduler(
        desired_retention=retention, learning_steps=(), relearning_steps=(), enable_fuzzing=False
    )


# --- one answer as reviews ------------------------------------------------------------------------


def grade_rating(row: ReviewRow, stale: bool) -> dict[str, str] | None:
    """The rating the grade gives each key point of an answer (by statement), or None when the
    answer is no review (its grade failed or is pending)."""
    if row.skipped:
        return {kp["point"]: "again" for kp in row.key_points}
    if row.grade_status != "graded":
        return None
    ratings: dict[str, str] = {}
    for kp in row.key_points:
        verdict = kp.get("verdict")
        if verdict == "covered" and not kp.get("recovered"):
            ratings[kp["point"]] = "good"
        elif verdict in ("covered", "partial"):
            ratings[kp["point"]] = "hard"
        else:
            ratings[kp["point"]] = "again"
    if ratings and row.errors == 0 and set(ratings.values()) == {"good"} and _quick(row):
        ratings = dict.fromkeys(ratings, "easy")
    if stale:
        ratings = {point: "hard" if r in ("good", "easy") else r for point, r in ratings.items()}
    return ratings


def answer_ratings(row: ReviewRow, stale: bool) -> dict[str, str] | None:
    """The rating of each key point of an answer: the candidate's own when they gave one."""
    ratings = grade_rating(row, stale)
    if ratings is not None and row.rating is not None:
        return dict.fromkeys(ratings, row.rating)
    return ratings


def _quick(row: ReviewRow) -> bool:
    if row.timed_out:
        return False
    limit = row.time_limit if row.time_limit else DEFAULT_PER_QUESTION
    used = (_instant(row.submitted_at) - _instant(row.started_at)).total_seconds()
    return 0 <= used <= QUICK_SHARE * limit


def _instant(stamp: str) -> datetime:
    at = datetime.fromisoformat(stamp)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


# --- the state of every key point ------------------------------------------------------------------


@dataclass(frozen=True)
class PointState:
    point: str
    card: Card | None  # None: never reviewed
    reviews: int = 0
    right: bool = False  # answered right (hard or better) at least once
    last: str | None = None  # the latest rating


@dataclass(frozen=True)
class QuestionState:
    question: Question
    points: tuple[PointState, ...]
    answers: int = 0  # answers that count as reviews
    stale: int = 0  # of them, answers to an older version of the question
    last_answered: datetime | None = None

    @property
    def seen(self) -> bool:
        return self.answers > 0

    @cached_property
    def due(self) -> datetime | None:
        """When its first key point is due; None for a question never answered. A key point never
        reviewed in a question answered before (the question changed) is due since that answer."""
        if not self.seen:
            return None
        return min(p.card.due if p.card else self.last_answered for p in self.points)  # type: ignore[type-var]

    @cached_property
    def share_right(self) -> float:
        """The share of its key points answered right, and not missed since."""
        return (
            sum(p.right and p.last != "again" for p in self.points) / len(self.points) if self.points else 0.0
        )


def _card_id(question_id: str, point: str) -> int:
    # Given, so that fsrs does not make one from the clock (it sleeps a millisecond per card).
    return int.from_bytes(hashlib.sha256(f"{question_id}\n{point}".encode()).digest()[:6], "big")


def replay(question: Question, rows: Iterable[ReviewRow], fsrs: Scheduler) -> QuestionState:
    """A question's key points after reviewing them with its answers, oldest first."""
    states = {kp.point: PointState(kp.point, None) for kp in question.key_points}
    answers = stale_answers = 0
    last: datetime | None = None
    for row in rows:
        stale = row.question_hash != question.content_hash
        ratings = answer_ratings(row, stale)
        if ratings is None:
            continue
        at = _instant(row.submitted_at)
        answers, stale_answers, last = answers + 1, stale_answers + stale, at
        for point, name in ratings.items():
            state = states.get(point)
            if state is None:  # a key point the question no longer has
                continue
            card = state.card or Card(card_id=_card_id(question.id, point), due=at)
            if card.last_review and at < card.last_review:
                at = card.last_review  # fsrs needs time to run forward; stored times may tie or slip
            card, _ = fsrs.review_card(card, RATINGS[name], at)
            states[point] = PointState(point, card, state.reviews + 1, state.right or name != "again", name)
    return QuestionState(question, tuple(states.values()), answers, stale_answers, last)


def _encode(state: QuestionState) -> dict[str, Any]:
    return {
        "answers": state.answers,
        "stale": state.stale,
        "last": state.last_answered.isoformat() if state.last_answered else None,
        "points": [
            [p.point, p.card.to_dict() if p.card else None, p.reviews, p.right, p.last] for p in state.points
        ],
    }


def _decode(question: Question, data: dict[str, Any]) -> QuestionState:
    points = tuple(
        PointState(point, Card.from_dict(card) if card else None, reviews, right, last)
        for point, card, reviews, right, last in data["points"]
    )
    if [p.point for p in points] != [kp.point for kp in question.key_points]:
        raise ValueError("the cached key points are not the question's")
    last = datetime.fromisoformat(data["last"]) if data["last"] else None
    return QuestionState(question, points, data["answers"], data["stale"], last)


class _Cache:
    """Replayed questions in a file beside the bank cache, one per database: disposable, written
    atomically (several processes may), and trusted only for a question whose key is unchanged."""

    def __init__(self, directory: Path | None, database: Path):
        digest = hashlib.sha256(str(database.resolve()).encode()).hexdigest()[:16]
        self.path = directory / f"schedule-{digest}.json" if directory else None
        self.entries: dict[str, Any] = {}
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == SCHEDULE_VERSION and isinstance(data.get("questions"), dict):
                self.entries = data["questions"]
        except (OSError, ValueError, AttributeError):
            pass

    def get(self, question: Question, key: str) -> QuestionState | None:
        entry = self.entries.get(question.id)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        try:
            return _decode(question, entry["state"])
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, states: dict[str, tuple[str, QuestionState]]) -> None:
        if self.path is None:
            return
        entries = {**self.entries, **{qid: {"key": k, "state": _encode(s)} for qid, (k, s) in states.items()}}
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"version": SCHEDULE_VERSION, "questions": entries}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:  # a read-only home schedules all the same, only slower
            tmp.unlink(missing_ok=True)


def _key(question: Question, signature: Sequence[int], retention: float) -> str:
    blob = json.dumps(
        [
            SCHEDULE_VERSION,
            retention,
            question.content_hash,
            [kp.point for kp in question.key_points],
            signature,
        ]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


# --- the schedule ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """A question chosen by the schedule, and why: "due" (due today or before), "soonest" (nothing
    is due; it is next), "weak" (answered, not due, least retained) or "unseen" (never answered)."""

    state: QuestionState
    why: str

    @property
    def question(self) -> Question:
        return self.state.question


@dataclass(frozen=True)
class TopicRetention:
    topic: str
    questions: int
    points: int
    retained: int  # key points retained now
    never_right: int  # key points never answered right (unseen ones included)

    @property
    def share(self) -> float:
        return self.retained / self.points if self.points else 0.0


class Schedule:
    """Every key point of the bank's questions, as the stored answers left it."""

    def __init__(self, states: dict[str, QuestionState], fsrs: Scheduler, now: datetime):
        self.states = states
        self.fsrs = fsrs
        self.now = now
        self.retention: float = fsrs.desired_retention

    @classmethod
    def load(
        cls,
        store: Store,
        questions: Sequence[Question],
        *,
        retention: float = DEFAULT_RETENTION,
        now: datetime | None = None,
        cache_dir: Path | None = None,
    ) -> Schedule:
        fsrs = scheduler(retention)
        signatures = store.review_signatures()
        cache = _Cache(cache_dir, store.path)
        states: dict[str, QuestionState] = {}
        keys: dict[str, str] = {}
        for question in questions:
            signature = signatures.get(question.id)
            if signature is None:  # never answered: nothing to replay or cache
                states[question.id] = QuestionState(
                    question, tuple(PointState(kp.point, None) for kp in question.key_points)
                )
                continue
            keys[question.id] = _key(question, signature, retention)
            cached = cache.get(question, keys[question.id])
            if cached is not None:
                states[question.id] = cached
        stale = [qid for qid in keys if qid not in states]
        if stale:
            by_id = {q.id: q for q in questions}
            rows: dict[str, list[ReviewRow]] = {qid: [] for qid in stale}
            for row in store.reviews(stale):
                rows[row.question_id].append(row)
            for qid in stale:
                states[qid] = replay(by_id[qid], rows[qid], fsrs)
            cache.save({qid: (keys[qid], states[qid]) for qid in stale})
        return cls(states, fsrs, now or datetime.now(UTC))

    # --- key points ---

    def recall(self, point: PointState, at: datetime | None = None) -> float:
        """The chance of recalling a key point now (or at `at`), as fsrs puts it; 0 if never reviewed."""
        if point.card is None:
            return 0.0
        return float(self.fsrs.get_card_retrievability(point.card, at or self.now))

    def retained(self, point: PointState, at: datetime | None = None) -> bool:
        return point.right and point.last != "again" and self.recall(point, at) >= self.retention - 1e-9

    def share_retained(self, state: QuestionState) -> float:
        return sum(self.retained(p) for p in state.points) / len(state.points) if state.points else 0.0

    # --- choosing questions ---

    def end_of_today(self) -> datetime:
        return end_of_day(self.now)

    def due(self, questions: Iterable[Question]) -> list[QuestionState]:
        """The questions due today (or before), most overdue first."""
        today = self.end_of_today()
        due = [s for s in self._states(questions) if s.due is not None and s.due <= today]
        return sorted(due, key=lambda s: (s.due, s.question.id))

    def practice(self, questions: Sequence[Question]) -> Pick | None:
        """The most overdue question; when none is due, the one due soonest; None when none of
        `questions` was ever answered."""
        due = self.due(questions)
        if due:
            return Pick(due[0], "due")
        seen = sorted((s for s in self._states(questions) if s.seen), key=lambda s: (s.due, s.question.id))
        return Pick(seen[0], "soonest") if seen else None

    def interview(self, questions: Sequence[Question], count: int, *, fill: bool = True) -> list[Pick]:
        """`count` questions: due ones first, then the weakest answered ones (a key point not
        retained), then unseen ones, spread over the topics; then, with `fill`, the answered ones
        that are all retained, the soonest due first."""
        states = self._states(questions)
        due = self.due(questions)
        taken = {s.question.id for s in due}
        # A question not due has every key point recalled with the chance aimed at, at least until
        # tomorrow: what it may lack is a point never answered right, or missed last time.
        share = {s.question.id: s.share_right for s in states if s.seen and s.question.id not in taken}
        answered = [s for s in states if s.question.id in share]
        weak = sorted(
            (s for s in answered if share[s.question.id] < 1),
            key=lambda s: (share[s.question.id], s.due, s.question.id),
        )
        tiers = [
            [Pick(s, "due") for s in due],
            [Pick(s, "weak") for s in weak],
            [Pick(s, "unseen") for s in states if not s.seen],
        ]
        if fill:
            solid = sorted(
                (s for s in answered if share[s.question.id] == 1), key=lambda s: (s.due, s.question.id)
            )
            tiers.append([Pick(s, "retained") for s in solid])
        return spread(tiers, count)

    def _states(self, questions: Iterable[Question]) -> list[QuestionState]:
        return [self.states[q.id] for q in questions if q.id in self.states]

    # --- what stats shows ---

    def forecast(self, questions: Sequence[Question], days: int = FORECAST_DAYS) -> list[int]:
        """How many questions fall due on each of the next `days` days (today holds those overdue)."""
        counts = [0] * days
        start = self.end_of_today()
        for state in self._states(questions):
            if state.due is None:
                continue
            day = 0 if state.due <= start else (state.due - start).days + 1
            if day < days:
                counts[day] += 1
        return counts

    def topics(self, questions: Sequence[Question]) -> list[TopicRetention]:
        """Per topic, the key points retained now and those never answered right, worst first."""
        by_topic: dict[str, list[QuestionState]] = {}
        for state in self._states(questions):
            by_topic.setdefault(state.question.topic, []).append(state)
        rows = []
        for topic, states in by_topic.items():
            points = [p for s in states for p in s.points]
            rows.append(
                TopicRetention(
                    topic,
                    len(states),
                    len(points),
                    sum(self.retained(p) for p in points),
                    sum(not p.right for p in points),
                )
            )
        return sorted(rows, key=lambda t: (t.share, -t.never_right, t.topic))


def end_of_day(at: datetime) -> datetime:
    """The end of the candidate's local day holding `at`, in UTC."""
    local = at.astimezone()
    return datetime.combine(local.date() + timedelta(days=1), time.min, local.tzinfo).astimezone(UTC)


def spread(tiers: Sequence[Sequence[Pick]], count: int) -> list[Pick]:
    """Up to `count` picks, tier by tier; within a tier, in its order, but the next pick comes from
    the topic picked least so far, so that no topic crowds out the others."""
    chosen: list[Pick] = []
    per_topic: Counter[str] = Counter()
    for tier in tiers:
        queues: dict[str, deque[tuple[int, Pick]]] = {}
        for order, pick in enumerate(tier):
            queues.setdefault(pick.question.topic, deque()).append((order, pick))
        while queues and len(chosen) < count:
            topic = min(queues, key=lambda t: (per_topic[t], queues[t][0][0]))
            chosen.append(queues[topic].popleft()[1])
            per_topic[topic] += 1
            if not queues[topic]:
                del queues[topic]
    return chosen


# --- the plan toward a date -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to practise, and how much a day, so that on the day every key point has been answered
    right and is still retained; without a date, how long a pace takes to get every point right."""

    until: date | None
    days: int  # practice days left before the date (today included); the horizon without one
    per_day: int  # the pace planned with
    needed: int | None  # the least pace that gets ready by the date; None: none does, or no date
    ready_on: date | None  # when every key point has been answered right, at this pace
    short: int  # key points not ready on the date at this pace
    points: int
    retention: float
    topics: list[TopicRetention]
    today: list[Pick]
    load: list[int] = field(default_factory=list)  # questions a day at this pace, from today


def plan(
    schedule: Schedule,
    questions: Sequence[Question],
    *,
    until: date | None = None,
    per_day: int | None = None,
) -> Plan:
    """The plan, from a simulation that assumes every question practised is then answered right."""
    today = schedule.now.astimezone().date()
    states = schedule._states(questions)
    points = sum(len(s.points) for s in states)
    if until is not None:
        days = (until - today).days
        if days < 0:
            raise UsageError(f"the interview date {until.isoformat()} is in the past")
        days = min(days, MAX_PLAN_DAYS)
        the_day = datetime.combine(until, time(9), schedule.now.astimezone().tzinfo).astimezone(UTC)
        needed = _least_pace(schedule, states, days, the_day)
        pace = per_day or needed or len(states)
        run = _simulate(schedule, states, pace, days, the_day)
    else:
        pace = per_day or DEFAULT_PER_DAY
        days = MAX_PLAN_DAYS
        needed = None
        run = _simulate(schedule, states, pace, days, None)
    today_picks = schedule.interview(questions, pace, fill=False)
    return Plan(
        until=until,
        days=days,
        per_day=pace,
        needed=needed,
        ready_on=None if run.ready_day is None else today + timedelta(days=run.ready_day),
        short=run.short,
        points=points,
        retention=schedule.retention,
        topics=schedule.topics(questions),
        today=today_picks,
        load=run.load[:FORECAST_DAYS],
    )


@dataclass
class _Run:
    load: list[int]
    ready_day: int | None  # the first day by whose end every key point was answered right
    short: int  # key points not ready on the day (answered right, and retained then)


def _simulate(
    schedule: Schedule, states: Sequence[QuestionState], per_day: int, days: int, the_day: datetime | None
) -> _Run:
    """Practise `per_day` questions a day for `days` days as `mock --due` would pick them (leaving
    out questions all retained and not due), each answered right; without a date, stop once every
    key point has been answered right."""
    fsrs = schedule.fsrs
    current = {s.question.id: s for s in states}
    questions = [s.question for s in states]
    load: list[int] = []
    never_right = {s.question.id for s in states if not all(p.right for p in s.points)}
    ready_day = None if never_right else -1
    for day in range(days):
        at = schedule.now + timedelta(days=day)
        picks = Schedule(current, fsrs, at).interview(questions, per_day, fill=False)
        for pick in picks:
            current[pick.question.id] = _answered_right(pick.state, fsrs, at)
            never_right.discard(pick.question.id)
        load.append(len(picks))
        if ready_day is None and not never_right:
            ready_day = day
            if the_day is None:
                break
    short = 0
    if the_day is not None:
        final = Schedule(current, fsrs, the_day)
        short = sum(not final.retained(p) for s in current.values() for p in s.points)
    return _Run(load, None if ready_day is None else max(ready_day, 0), short)


def _answered_right(state: QuestionState, fsrs: Scheduler, at: datetime) -> QuestionState:
    points = []
    for p in state.points:
        card = p.card or Card(card_id=_card_id(state.question.id, p.point), due=at)
        card, _ = fsrs.review_card(card, Rating.Good, max(at, card.last_review or at))
        points.append(PointState(p.point, card, p.reviews + 1, True, "good"))
    return QuestionState(state.question, tuple(points), state.answers + 1, state.stale, at)


def _least_pace(
    schedule: Schedule, states: Sequence[QuestionState], days: int, the_day: datetime
) -> int | None:
    """The fewest questions a day that leave no key point short on the day; None if even every
    question every day does not (there are no days left). The search starts from the pace that
    answers every question not yet right once, and doubles until a pace is enough."""

    def enough(pace: int) -> bool:
        return not _simulate(schedule, states, pace, days, the_day).short

    most = len(states)
    if not states or not enough(most):
        return None
    work = sum(1 for s in states if s.share_right < 1)
    low = min(most, max(1, -(-work // max(days, 1))))
    high = low
    while not enough(high):
        low, high = high + 1, min(most, high * 2)
    while low < high:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle + 1
    return low


def parse_date(text: str, today: date) -> date | None:
    """An interview date: YYYY-MM-DD, or in N days or weeks (`14d`, `3w`); `none` forgets it."""
    word = text.strip().lower()
    if word in ("none", "off", "forget"):
        return None
    try:
        if word[-1:] in ("d", "w") and word[:-1].isdigit():
            count = int(word[:-1]) * (7 if word.endswith("w") else 1)
            if count > MAX_PLAN_DAYS:
                raise UsageError(f"{text!r} is more than a year away; plan toward a nearer date")
            return today + timedelta(days=count)
        return date.fromisoformat(word)
    except ValueError:
        raise UsageError(
            f"not a date: {text!r}; give the interview date as YYYY-MM-DD, or in days or weeks (14d, 3w), "
            "or none to forget it"
        ) from None
