"""What a candidate reads after answering: the summary, the reports and `show`, from one view model."""

import json
import os
import re
import subprocess
import sys

import pytest

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


def _table(html):
    return html.split("<table>", 1)[1].split("</table>", 1)[0]


def test_reports_say_who_graded_in_words(cli):
    _mock(cli, ["An answer about it."])
    for fmt in ("md", "html"):
        text = cli("report", "latest", "-f", fmt).stdout
        assert "the offline grader (an estimate)" in text and "offline (offline estimate)" not in text


def test_the_html_table_marks_a_skip_as_skipped(cli):
    _mock(cli, ["An answer about it.", ""])
    md = cli("report", "latest").stdout
    html = cli("report", "latest", "-f", "html").stdout
    table = _table(html)
    assert "<th>status</th>" in table
    [skipped_row] = [row for row in table.split("<tr>") if ">2</td>" in row]
    assert "skipped" in skipped_row
    assert "| 2 |" in md and re.search(r"\| 2 \|.*\| 0 \| skipped \|", md)


def test_what_changed_since_the_last_attempt_reads_as_sentences_in_both_formats(cli, home):
    cli("practice", "regularization/dropout", input="A first try.")
    cli("practice", "regularization/dropout", input="A second try.")
    store = Store.open(home)
    first, second = sorted(store.attempts(), key=lambda a: a.answer_id)
    store.add_grade(
        first.answer_id,
        _grade(2, [_point("zeroes units", "missing"), _point("at inference", "missing")]).model_dump(
            mode="json"
        ),
    )
    store.add_grade(
        second.answer_id,
        _grade(
            5,
            [_point("zeroes units", "covered"), _point("at inference", "missing")],
            [
                Finding(text="Dropout is on at inference", why="it is off"),
                Finding(text="p is kept", severity="minor"),
            ],
        ).model_dump(mode="json"),
    )
    md = cli("report", "latest").stdout
    html = cli("report", "latest", "-f", "html").stdout
    sentence = "score +3. Newly covered: zeroes units. Still missing: at inference."
    assert sentence in md and sentence in re.sub(r"\s+", " ", html)
    # Each error is its own list item, not glued to the one before.
    assert "- Dropout is on at inference (major): it is off\n- p is kept (minor)\n" in md


def test_chart_labels_are_readable_on_a_phone_and_not_huge_on_a_desktop(cli):
    """The chart's text size as a browser lays it out: the SVG scales to its box, so a label of F
    SVG units is F × box width / viewBox width pixels. The box is the page's content width (at most
    860 px less 32 px of padding), capped by the chart's max-width."""
    _mock(cli, ["An answer about it.", "Another answer."])
    html = cli("report", "latest", "-f", "html").stdout
    font = float(re.search(r"\.chart text \{ font: (\d+)px", html).group(1))
    cap = re.search(r"\.chart \{[^}]*max-width: (\d+)px", html)
    for svg in re.findall(r'<svg class="chart"[^>]*viewBox="-?\d+ 0 (\d+) ', html):
        for viewport, low, high in ((390, 11, 14), (1280, 13, 20)):
            box = min(viewport, 860) - 32
            if cap:
                box = min(box, int(cap.group(1)))
            assert low <= font * box / int(svg) <= high, (viewport, font * box / int(svg))


# --- feedback in the terminal --------------------------------------------------------------------


def test_show_prints_each_questions_feedback_in_the_terminal(cli):
    answer = (
        "Dropout zeroes random units with probability p during training \x1b[2J so units cannot co-adapt."
    )
    summary = _mock(cli, [answer, ""])
    session = summary["session_id"]
    one = cli("show", session, "1")
    assert one.exit_code == 0
    first_id = summary["questions"][0]["question_id"]
    assert f"Question 1/2 · {first_id}" in one.stdout
    for heading in ("Your answer", "Key points", "To improve", "Reference answer"):
        assert heading in one.stdout
    assert "␛[2J" in one.stdout and "\x1b" not in one.stdout  # an answer cannot drive the terminal
    skipped = cli("show", session, "2").stdout
    assert "Skipped (counts as 0)" in skipped and "Reference answer" in skipped
    every = cli("show").stdout
    assert "Question 1/2" in every and "Question 2/2" in every

    out_of_range = cli("show", session, "3")
    assert out_of_range.exit_code == 2
    assert out_of_range.stderr == f"error: session {session} has 2 questions: give a number from 1 to 2\n"
    assert cli("show", "nope").exit_code == 2


def test_the_mock_summary_and_grade_point_to_show(cli, home):
    summary = cli("mock", "-n", "2", "--seed", "5", input="An answer about it.\n---\nAnother answer.\n")
    session = Store.open(home).session("latest").id
    assert f"interviewer show {session}" in summary.stdout

    graded = cli("grade", "latest", "--all")
    lines = graded.stdout.splitlines()
    assert re.search(r"^1\. \S+: [\d.]+/10  \d+ of \d+ key points covered; missed: \w", lines[0])
    assert f"interviewer show {session}" in graded.stdout


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_history_never_wraps_or_cuts_an_id(cli, columns):
    """At 80 columns a session id folded mid-word: ids are what `show`, `report` and `practice` take."""
    cli("mock", "-n", "3", "--seed", "5", "--grader", "offline", input="One.\n---\nTwo.\n---\nThree.")
    cli("practice", "ml-system-design/search-ranking", "--grader", "offline", input="An answer.")
    attempts = json.loads(cli("history", "--json").stdout)["attempts"]
    env = {**os.environ, "COLUMNS": str(columns)}  # the terminal's width, read as the process starts
    shown = subprocess.run(
        [sys.executable, "-m", "interviewer", "history"], env=env, capture_output=True, text=True, check=True
    ).stdout
    lines = shown.splitlines()
    assert all(len(line) <= columns for line in lines), lines
    rows = [line for line in lines if any(a["session_id"] in line for a in attempts)]
    assert len(rows) == len(attempts), lines  # each session id whole, on its row
    for row, attempt in zip(rows, attempts, strict=True):
        assert f" {attempt['session_id']} " in row and f" {attempt['question_id']}" in row, lines
        assert ("pending" if attempt["score"] is None else f"{attempt['score']:g}/10") in row
    if columns == 120:
        assert "when" in lines[1] and "grader" in lines[1] and "offline estimate" in shown
