"""Spaced practice: FSRS over the key points of stored grades, `--due`, `plan`, `review` and `stats`.

Histories are written through the real store, as the product writes them: an answer with its
question's snapshot, then a `Grade` whose verdicts are the ones a test needs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from interviewer import store as store_module
from interviewer.bank import Bank, Question
from interviewer.grading.model import Grade, PointVerdict, Verdict, compute_score
from interviewer.schedule import Schedule, answer_ratings, parse_date, plan
from interviewer.store import Store

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def answer(
    store: Store,
    question: Question,
    verdicts: list[str] | str,
    at: datetime,
    *,
    seconds: float = 200,
    status: str = "graded",
    session: str | None = None,
    snapshot: dict | None = None,
    errors: int = 0,
) -> int:
    """Store an answer to `question` submitted at `at` and graded with these verdicts (one for every
    key point, or the same for all)."""
    if isinstance(verdicts, str):
        verdicts = [verdicts] * len(question.key_points)
    session = session or store.create_session("practice", "offline")
    answer_id = store.add_answer(
        session,
        snapshot or question.snapshot(),
        "an answer",
        started_at=_stamp(at - timedelta(seconds=seconds)),
        submitted_at=_stamp(at),
    )
    if status == "failed":
        store.add_grade(
            answer_id, Grade.failed("offline", "the endpoint answered HTTP 500").model_dump(mode="json")
        )
        return answer_id
    if status == "pending":
        return answer_id
    points = [
        PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict(v))
        for kp, v in zip(question.key_points, verdicts, strict=True)
    ]
    from interviewer.grading.model import Finding

    found = [Finding(text="a wrong claim")] * errors
    grade = Grade(grader="offline", key_points=points, errors=found, score=compute_score(points, found))
    store.add_grade(answer_id, grade.model_dump(mode="json"))
    return answer_id


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "db") as s:
        yield s


@pytest.fixture
def bank(builtin_bank) -> Bank:
    return builtin_bank


def _load(store: Store, bank: Bank, now: datetime = NOW, **kw) -> Schedule:
    return Schedule.load(store, bank.questions, now=now, **kw)


# --- the unit is the key point ------------------------------------------------------------------


def test_a_key_point_answered_badly_comes_back_sooner_than_one_answered_well(store, bank):
    adam = bank.get("optimization/adam")
    n = len(adam.key_points)
    answer(store, adam, ["covered"] * (n - 2) + ["partial", "missing"], NOW - timedelta(days=1))
    state = _load(store, bank).states[adam.id]
    good, hard, again = state.points[0], state.points[n - 2], state.points[n - 1]
    assert (good.last, hard.last, again.last) == ("good", "hard", "again")
    assert again.card.due <= hard.card.due < good.card.due
    # After one review fsrs waits at least a day for both; how well each is held already differs.
    assert again.card.stability < hard.card.stability < good.card.stability
    # The question is due when its first key point is.
    assert state.due == again.card.due


def test_a_quick_complete_answer_rates_easy_and_a_slow_one_good(store, bank):
    adam, bn = bank.get("optimization/adam"), bank.get("regularization/batch-norm")
    answer(store, adam, "covered", NOW - timedelta(days=1), seconds=60)  # under half of 5 minutes
    answer(store, bn, "covered", NOW - timedelta(days=1), seconds=280)
    states = _load(store, bank).states
    assert {p.last for p in states[adam.id].points} == {"easy"}
    assert {p.last for p in states[bn.id].points} == {"good"}
    assert states[adam.id].due > states[bn.id].due


def test_a_complete_answer_with_an_error_is_not_easy(store, bank):
    adam = bank.get("optimization/adam")
    answer(store, adam, "covered", NOW - timedelta(days=1), seconds=30, errors=1)
    assert {p.last for p in _load(store, bank).states[adam.id].points} == {"good"}


def test_failed_and_pending_grades_are_no_reviews(store, bank):
    adam = bank.get("optimization/adam")
    answer(store, adam, "covered", NOW - timedelta(days=2), status="failed")
    answer(store, adam, "covered", NOW - timedelta(days=1), status="pending")
    state = _load(store, bank).states[adam.id]
    assert not state.seen and all(p.card is None for p in state.points)


def test_a_retry_in_the_same_session_is_no_review(store, bank):
    """The retry follows the feedback and the reference answer: it shows no recall."""
    adam = bank.get("optimization/adam")
    session = store.create_session("practice", "offline")
    answer(store, adam, "missing", NOW - timedelta(hours=2), session=session)
    answer(store, adam, "covered", NOW - timedelta(hours=1), session=session)
    state = _load(store, bank).states[adam.id]
    assert state.answers == 1 and {p.last for p in state.points} == {"again"}


def test_a_skipped_question_rates_every_key_point_again(store, bank):
    adam = bank.get("optimization/adam")
    session = store.create_session("mock", "offline")
    at = _stamp(NOW - timedelta(days=1))
    store.add_answer(session, adam.snapshot(), "", started_at=at, submitted_at=at, skipped=True)
    state = _load(store, bank).states[adam.id]
    assert state.answers == 1 and {p.last for p in state.points} == {"again"}


def test_an_override_rates_every_key_point_and_changes_the_next_due_date(store, bank):
    adam = bank.get("optimization/adam")
    answer_id = answer(store, adam, "covered", NOW - timedelta(days=1))
    before = _load(store, bank).states[adam.id].due
    store.rate(answer_id, "again")  # "I guessed that one"
    after = _load(store, bank).states[adam.id]
    assert {p.last for p in after.points} == {"again"}
    assert after.due < before
    store.rate(answer_id, None)  # back to the grade's own
    assert _load(store, bank).states[adam.id].due == before


def test_an_answer_to_an_older_version_is_weaker_evidence(store, bank):
    adam = bank.get("optimization/adam")
    older = {**adam.snapshot(), "content_hash": "0123456789abcdef", "reference": "An older reference."}
    bn = bank.get("regularization/batch-norm")
    answer(store, adam, "covered", NOW - timedelta(days=1), snapshot=older)
    answer(store, bn, "covered", NOW - timedelta(days=1))
    states = _load(store, bank).states
    assert states[adam.id].stale == 1 and states[bn.id].stale == 0
    assert {p.last for p in states[adam.id].points} == {"hard"}
    assert states[adam.id].due < states[bn.id].due


def test_a_question_the_bank_no_longer_has_is_never_scheduled(store, bank):
    adam = bank.get("optimization/adam")
    gone = {**adam.snapshot(), "id": "optimization/gone", "content_hash": "feedfeedfeedfeed"}
    answer(store, adam, "missing", NOW - timedelta(days=30), snapshot=gone)
    schedule = _load(store, bank)
    assert "optimization/gone" not in schedule.states
    assert all(p.question.id != "optimization/gone" for p in schedule.interview(bank.questions, 20))


def test_a_key_point_the_question_gained_is_due_at_once(store, bank):
    adam = bank.get("optimization/adam")
    answer(store, adam, "covered", NOW - timedelta(days=1))
    points = [kp.model_dump() for kp in adam.key_points]
    points.append({"point": "A new key point about weight decay", "weight": 1.0, "terms": ["weight decay"]})
    edited = Question.model_validate({**adam.model_dump(exclude={"key_points"}), "key_points": points})
    schedule = Schedule.load(store, [edited], now=NOW)
    state = schedule.states[adam.id]
    assert state.points[-1].card is None
    assert state.due <= NOW and schedule.due([edited])


# --- choosing questions ----------------------------------------------------------------------------


def test_practice_due_picks_the_most_overdue_and_says_when_nothing_is_due(store, bank):
    a, b, c = (
        bank.get(q) for q in ("optimization/adam", "regularization/dropout", "evaluation/confusion-matrix")
    )
    answer(store, a, "missing", NOW - timedelta(days=3))  # due two days ago
    answer(store, b, "missing", NOW - timedelta(days=9))  # due eight days ago: the most overdue
    answer(store, c, "covered", NOW - timedelta(hours=1))
    pick = _load(store, bank).practice(bank.questions)
    assert (pick.question.id, pick.why) == (b.id, "due")
    # Later on, with only a well answered question, nothing is due: the soonest one is said so.
    only_c = [c]
    pick = _load(store, bank).practice(only_c)
    assert (pick.question.id, pick.why) == (c.id, "soonest")


def test_an_interview_takes_due_then_weakest_then_unseen_spread_over_topics(store, bank):
    due = [bank.get("optimization/adam"), bank.get("optimization/learning-rate")]
    for q in due:
        answer(store, q, "missing", NOW - timedelta(days=5))
    weak = bank.get("regularization/dropout")
    # A key point missed two hours ago: due tomorrow, not today, and not retained.
    answer(store, weak, ["missing"] + ["covered"] * (len(weak.key_points) - 1), NOW - timedelta(hours=2))
    solid = bank.get("evaluation/confusion-matrix")
    answer(store, solid, "covered", NOW - timedelta(hours=2))
    picks = _load(store, bank).interview(bank.questions, 8)
    whys = [p.why for p in picks]
    assert whys[:3] == ["due", "due", "weak"] and set(whys[3:]) == {"unseen"}
    assert {p.question.id for p in picks[:2]} == {q.id for q in due}
    unseen_topics = [p.question.topic for p in picks[3:]]
    assert len(set(unseen_topics)) == len(unseen_topics)  # one per topic before any repeats
    assert solid.id not in {p.question.id for p in picks}
    # When nothing else is left, questions all retained fill the interview last.
    few = [*due, weak, solid]
    assert [p.why for p in _load(store, bank).interview(few, 4)] == ["due", "due", "weak", "retained"]


# --- the plan --------------------------------------------------------------------------------------


def test_the_plan_gets_every_key_point_of_every_topic_ready_by_the_date(store, bank):
    pool = [q for q in bank.questions if q.topic in ("optimization", "regularization", "evaluation")]
    answer(store, pool[0], "missing", NOW - timedelta(days=2))
    answer(store, pool[1], "covered", NOW - timedelta(days=20))
    schedule = _load(store, bank)
    until = (NOW + timedelta(days=14)).date()
    ready = plan(schedule, pool, until=until)
    assert ready.needed is not None and ready.short == 0
    assert ready.ready_on is not None and ready.ready_on < until
    # One question a day fewer leaves key points short on the day: the pace is the least that works.
    if ready.needed > 1:
        assert plan(schedule, pool, until=until, per_day=ready.needed - 1).short > 0
    # No key point of any topic is short on the day; every topic is in the plan.
    assert {t.topic for t in ready.topics} == {"optimization", "regularization", "evaluation"}
    # Today's session starts with what is due, the most overdue first, then spreads over topics.
    wider = plan(schedule, pool, until=until, per_day=4)
    assert [(p.question.id, p.why) for p in wider.today[:2]] == [(pool[1].id, "due"), (pool[0].id, "due")]
    assert {p.question.topic for p in wider.today} == {"optimization", "regularization", "evaluation"}


def test_without_a_date_the_plan_says_when_a_pace_gets_every_point_right(store, bank):
    pool = [q for q in bank.questions if q.topic == "optimization"]
    slow = plan(_load(store, bank), pool, per_day=1)
    fast = plan(_load(store, bank), pool, per_day=4)
    assert slow.ready_on is not None and fast.ready_on is not None
    assert fast.ready_on < slow.ready_on
    assert slow.load[0] == 1 and fast.load[0] == 4


def test_interview_dates_are_read_or_refused_in_one_line():
    today = date(2026, 6, 15)
    assert parse_date("2026-07-01", today) == date(2026, 7, 1)
    assert parse_date("3w", today) == date(2026, 7, 6)
    assert parse_date("10d", today) == date(2026, 6, 25)
    assert parse_date("none", today) is None
    from interviewer.errors import UsageError

    for bad in ("2026-13-01", "tomorrowish", "", "9999d"):
        with pytest.raises(UsageError):
            parse_date(bad, today)


# --- the cache of replayed cards ---------------------------------------------------------------------


def test_the_cache_gives_what_a_replay_gives_and_follows_every_change(store, bank, tmp_path):
    cache = tmp_path / "cache"
    adam, bn = bank.get("optimization/adam"), bank.get("regularization/batch-norm")
    first = answer(store, adam, "partial", NOW - timedelta(days=4))
    answer(store, bn, "covered", NOW - timedelta(days=3))

    def dues(**kw):
        s = _load(store, bank, **kw)
        return {qid: (st.due, [p.last for p in st.points]) for qid, st in s.states.items() if st.seen}

    assert dues(cache_dir=cache) == dues()  # written
    assert dues(cache_dir=cache) == dues()  # read back
    answer(store, adam, "covered", NOW - timedelta(days=1))  # a new answer
    assert dues(cache_dir=cache) == dues()
    store.rate(first, "again")  # an override of an old answer
    assert dues(cache_dir=cache) == dues()
    regrade = Grade(grader="offline", key_points=[], score=None).model_dump(mode="json")
    regrade["status"], regrade["failure"] = "failed", "regraded and failed"
    store.add_grade(first, regrade)  # `grade --all` failing: the answer is no review any more
    assert dues(cache_dir=cache) == dues()
    assert dues(cache_dir=cache, retention=0.8) == dues(retention=0.8)


def test_a_damaged_cache_file_is_replayed_over(store, bank, tmp_path):
    cache = tmp_path / "cache"
    adam = bank.get("optimization/adam")
    answer(store, adam, "partial", NOW - timedelta(days=4))
    expected = _load(store, bank).states[adam.id].due
    _load(store, bank, cache_dir=cache)
    [file] = cache.glob("schedule-*.json")
    for damage in ("{not json", '{"version": 1, "questions": {"optimization/adam": {"key": 3}}}', "[]"):
        file.write_text(damage)
        assert _load(store, bank, cache_dir=cache).states[adam.id].due == expected


def test_processes_and_threads_scheduling_at_once_share_the_cache_safely(store, bank, tmp_path):
    cache = tmp_path / "cache"
    for i, q in enumerate(bank.questions[:40]):
        answer(store, q, ["covered", "missing"][i % 2], NOW - timedelta(days=i % 7 + 1))
    expected = {qid: s.due for qid, s in _load(store, bank).states.items()}
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append({qid: s.due for qid, s in _load(store, bank, cache_dir=cache).states.items()})
        except Exception as exc:  # noqa: BLE001 - collected and failed below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 40 and all(r == expected for r in results)
    assert not list(cache.glob("*.tmp"))


# --- the database ---------------------------------------------------------------------------------


def test_a_database_of_the_current_release_upgrades_in_place_and_keeps_everything(tmp_path, bank):
    """Schema 2 is what the release before spaced practice writes."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for script in store_module.MIGRATIONS[:2]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 2")
    adam = bank.get("optimization/adam")
    at = _stamp(NOW - timedelta(days=3))
    db.execute(
        "INSERT INTO sessions (id, mode, status, grader, settings, started_at) VALUES ('s1', 'practice', 'completed', 'offline', '{}', ?)",
        (at,),
    )
    db.execute(
        """INSERT INTO answers (session_id, position, question_id, question_hash, question, text, started_at, submitted_at)
           VALUES ('s1', 1, ?, ?, ?, 'my answer', ?, ?)""",
        (adam.id, adam.content_hash, json.dumps(adam.snapshot()), at, at),
    )
    points = [
        PointVerdict(point=kp.point, weight=kp.weight, verdict=Verdict.missing) for kp in adam.key_points
    ]
    grade = Grade(grader="offline", key_points=points, score=0.0).model_dump(mode="json")
    db.execute(
        "INSERT INTO grades (answer_id, created_at, status, grader, score, grade) VALUES (1, ?, 'graded', 'offline', 0.0, ?)",
        (at, json.dumps(grade)),
    )
    db.execute(
        "INSERT INTO turns (answer_id, number, prompt, text, started_at) VALUES (1, 2, 'Why?', 'Because.', ?)",
        (at,),
    )
    db.commit()
    db.close()

    with Store(path) as upgraded:
        [attempt] = upgraded.attempts()
        assert (attempt.text, attempt.score, attempt.follow_ups[0].text) == ("my answer", 0.0, "Because.")
        schedule = Schedule.load(upgraded, bank.questions, now=NOW)
        assert schedule.states[adam.id].answers == 1
        assert schedule.practice(bank.questions).question.id == adam.id
        upgraded.rate(attempt.answer_id, "good")
        upgraded.set_preference("plan.until", "2026-07-01")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(store_module.MIGRATIONS) == 3
    assert db.execute("SELECT rating FROM ratings").fetchall() == [("good",)]


def test_answer_ratings_follow_the_verdicts(store, bank):
    adam = bank.get("optimization/adam")
    answer(store, adam, ["covered", "partial"] + ["missing"] * (len(adam.key_points) - 2), NOW)
    [row] = store.reviews()
    ratings = list(answer_ratings(row, stale=False).values())
    assert ratings[:3] == ["good", "hard", "again"]
    assert list(answer_ratings(row, stale=True).values())[:3] == ["hard", "hard", "again"]
