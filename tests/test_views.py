"""What a candidate reads after answering: the summary, the reports and `show`, from one view model."""

import json
import re

from interviewer.grading.model import Finding, Grade, PointVerdict
from interviewer.store import Store


def _mock(cli, answers):
    result = cli("mock", "-n", str(len(answers)), "--seed", "5", "--json", input="\n---\n".join(answers))
    return json.loads(result.stdout)


def _point(point, verdict, weight=1.0, evidence=None):
    return PointVerdict(point=point, weight=weight, verdict=verdict, evidence=evidence)


def _regrade(home, grades):
    """Give the latest session's answers these grades, in order (as a regrade would)."""
    store = Store.open(home)
    session = store.session("latest")
    for attempt, grade in zip(store.attempts(session_id=session.id), grades, strict=True):
        store.add_grade(attempt.answer_id, grade.model_dump(mode="json"))
    return session.id


def _grade(score, points, errors=()):
    return Grade(grader="offline", score=score, key_points=points, errors=list(errors))


def test_strongest_points_come_from_the_best_answers_and_errors_read_as_wrong(cli, home):
    _mock(cli, ["weak answer", "good answer", "another good answer"])
    _regrade(
        home,
        [
            _grade(
                3.8,
                [_point("heavy point of a weak answer", "covered", 3.0), _point("missed", "missing")],
                [Finding(text="Dropout is applied at inference", severity="major")],
            ),
            _grade(9.2, [_point("first strong point", "covered"), _point("second", "covered", 0.5)]),
            _grade(9.2, [_point("third strong point", "covered")]),
        ],
    )
    doc = json.loads(cli("report", "latest", "-f", "json").stdout)
    strongest = [item.split(": ", 1)[1] for item in doc["strongest"]]
    assert strongest == ["first strong point", "third strong point", "second"]
    assert doc["gaps"][0].endswith(": Wrong: Dropout is applied at inference")
