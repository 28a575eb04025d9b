"""Single-question practice through the real CLI, with the real SQLite file."""

import json
import os
import sqlite3
import subprocess
import sys

from interviewer import bank, resources
from interviewer.grading.offline import OfflineGrader
from interviewer.session import Practice, grade_pending
from interviewer.store import Store

GOOD_ADAM = (
    "Adam keeps an exponential moving average of the gradients, like momentum, and a moving average of the "
    "squared gradients, like RMSProp. Each parameter's step is the first moment divided by the square root "
    "of the second moment, so every parameter gets its own adaptive step size. Both averages start at zero, "
    "so Adam applies bias correction in the early steps."
)


def _db_rows(home, sql):
    return sqlite3.connect(home / "interviewer.db").execute(sql).fetchall()


def test_practice_reads_standard_input_and_prints_the_grade_and_reference(cli, home, builtin_bank):
    result = cli("practice", "optimization/adam", input=GOOD_ADAM)
    assert result.exit_code == 0, result.stderr
    assert "Explain Adam optimizer." in result.stdout
    assert "Score" in result.stdout and "offline estimate" in result.stdout
    assert "Reference answer" in result.stdout
    [(text, status)] = _db_rows(
        home, "SELECT a.text, g.status FROM answers a JOIN grades g ON g.answer_id = a.id"
    )
    assert (text, status) == (GOOD_ADAM, "graded")


def test_practice_json_is_the_grade_for_scripts(cli, home):
    result = cli("practice", "optimization/adam", "--json", input=GOOD_ADAM)
    data = json.loads(result.stdout)
    assert data["question_id"] == "optimization/adam"
    assert data["grader"] == "offline" and data["status"] == "graded"
    assert data["score"] >= 7
    assert {kp["verdict"] for kp in data["key_points"]} <= {"covered", "partial", "missing"}
    [(score,)] = _db_rows(home, "SELECT score FROM grades")
    assert score == data["score"]


def test_practice_reads_an_answer_file(cli, tmp_path):
    path = tmp_path / "answer.txt"
    path.write_text(GOOD_ADAM)
    data = json.loads(cli("practice", "optimization/adam", "--answer-file", str(path), "--json").stdout)
    assert data["score"] >= 7


def test_a_random_question_comes_from_the_chosen_topic(cli):
    for _ in range(5):
        data = json.loads(cli("practice", "--topic", "evaluation", "--json", input="I am not sure.").stdout)
        assert data["question_id"].startswith("evaluation/")


def test_a_random_question_comes_from_the_chosen_difficulty(cli, builtin_bank):
    hard = {q.id for q in builtin_bank.select(["nlp-llms"], bank.Difficulty.hard)}
    for _ in range(5):
        args = ("practice", "--topic", "nlp-llms", "--difficulty", "HARD", "--json")
        assert json.loads(cli(*args, input="I am not sure.").stdout)["question_id"] in hard
    result = cli("practice", "optimization/adam", "--difficulty", "easy", input="x")
    assert result.exit_code == 2 and "give a question id or --topic/--difficulty" in result.stderr


def test_bad_input_gets_one_line_and_exit_2_and_stores_nothing(cli, home, tmp_path):
    cases = {
        ("practice", "optimization/nope"): "no question 'optimization/nope'",
        ("practice", "--answer-file", str(tmp_path / "missing.txt")): "missing.txt: no such file",
        ("practice", "--topic", "cooking"): "unknown topic 'cooking'",
        ("practice", "optimization/adam", "--topic", "evaluation"): "not both",
    }
    for args, message in cases.items():
        result = cli(*args, input="an answer")
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    empty = cli("practice", "optimization/adam", input="  \n ")
    assert empty.exit_code == 2 and "the answer is empty" in empty.stderr
    binary = tmp_path / "answer.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "not UTF-8" in cli("practice", "optimization/adam", "--answer-file", str(binary)).stderr
    assert not (home / "interviewer.db").exists() or _db_rows(home, "SELECT count(*) FROM answers") == [(0,)]


def test_history_lists_attempts_newest_first(cli):
    cli("practice", "optimization/adam", input=GOOD_ADAM)
    cli("practice", "regularization/dropout", input="No idea.")
    rows = json.loads(cli("history", "--json").stdout)["attempts"]
    assert [r["question_id"] for r in rows] == ["regularization/dropout", "optimization/adam"]
    table = cli("history").stdout
    assert "optimization/adam" in table and "offline estimate" in table
    only = json.loads(cli("history", "--question", "optimization/adam", "--json").stdout)["attempts"]
    assert [r["question_id"] for r in only] == ["optimization/adam"]


def test_history_shows_times_on_the_local_clock(cli, home):
    from datetime import datetime, timedelta

    cli("practice", "optimization/adam", input=GOOD_ADAM)
    [stored] = [r["submitted_at"] for r in json.loads(cli("history", "--json").stdout)["attempts"]]
    kolkata = (datetime.fromisoformat(stored) + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M")
    env = {**os.environ, "INTERVIEWER_HOME": str(home), "TZ": "Asia/Kolkata", "COLUMNS": "120"}
    shown = subprocess.run(
        [sys.executable, "-m", "interviewer", "history"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert kolkata in shown, shown


def test_history_is_friendly_when_empty(cli):
    assert "No attempts yet" in cli("history").stdout


def test_history_of_an_unknown_question_is_an_error_not_no_attempts(cli):
    cli("practice", "optimization/adam", input=GOOD_ADAM)
    typo = cli("history", "--question", "adam")
    assert typo.exit_code == 2 and typo.stdout == ""
    assert typo.stderr.startswith("error: no question 'adam' in the bank (did you mean optimization/adam?)")
    unanswered = cli("history", "--question", "regularization/dropout")
    assert unanswered.exit_code == 0
    assert "No attempts at regularization/dropout yet" in unanswered.stdout


class _Broken:
    name = "broken"

    def grade(self, question, answer):
        raise ConnectionError("endpoint went away")


def test_a_grading_failure_keeps_the_answer_and_records_the_reason(home, builtin_bank, cli):
    store = Store.open(home)
    run = Practice(store, _Broken())
    result = run.answer(builtin_bank.get("optimization/adam"), GOOD_ADAM)
    assert result.grade.status == "failed" and result.grade.score is None
    assert result.grade.failure == "endpoint went away"
    assert _db_rows(
        home, "SELECT a.text, g.status, g.score, g.failure FROM answers a JOIN grades g ON g.answer_id = a.id"
    ) == [(GOOD_ADAM, "failed", None, "endpoint went away")]
    shown = cli("history").stdout
    assert "failed" in shown

    graded = cli("grade", run.session_id, "--json")
    assert graded.exit_code == 0
    [regraded] = json.loads(graded.stdout)["graded"]
    assert regraded["status"] == "graded" and regraded["score"] >= 7
    assert "every answer has a grade" in cli("grade", "latest").stdout


def test_grade_pending_grades_an_answer_saved_without_a_grade(home, builtin_bank):
    store = Store.open(home)
    run = Practice(store, OfflineGrader())
    run.submit(builtin_bank.get("optimization/adam"), GOOD_ADAM)  # as after Ctrl-C in the editor
    assert store.attempts()[0].grade_status == "pending"
    [(attempt, grade)] = grade_pending(store, run.session_id, OfflineGrader())
    assert grade.ok and store.attempts()[0].grade_status == "graded"


def test_an_answer_keeps_the_question_as_it_was_asked(cli, home, tmp_path):
    custom = tmp_path / "custom.toml"
    source = resources.bank_dir() / "02-optimization.toml"
    custom.write_text(
        source.read_text()
        .replace('topic = "optimization"', 'topic = "mine"')
        .replace('"optimization/', '"mine/')
    )
    cli("practice", "mine/adam", "--bank", str(custom), input=GOOD_ADAM)
    custom.write_text(custom.read_text().replace("Explain Adam optimizer.", "Explain Adam, please."))
    [(prompt, hash_)] = _db_rows(
        home, "SELECT json_extract(question, '$.prompt'), question_hash FROM answers"
    )
    assert prompt == "Explain Adam optimizer."
    assert hash_ != bank.load([custom]).get("mine/adam").content_hash


def test_hostile_input_is_refused_in_one_line(cli, tmp_path, home):
    not_utf8 = cli("practice", "optimization/adam", input=b"\xff\xfe an answer")
    assert (
        not_utf8.exit_code == 2
        and not_utf8.stderr.strip() == "error: standard input is not UTF-8 text (byte 0)"
    )
    huge = tmp_path / "huge.txt"
    huge.write_text("word " * 20_000)
    too_long = cli("practice", "optimization/adam", "--answer-file", str(huge))
    assert (
        too_long.exit_code == 2
        and "the answer has more than 50,000 characters, the most an answer may have" in too_long.stderr
    )
    mock = cli("mock", "-n", "2", input="short\n---\n" + "word " * 20_000)
    assert mock.exit_code == 2 and "answer 2 has more than 50,000 characters" in mock.stderr


def test_control_characters_and_any_script_survive_the_round_trip(cli):
    text = "Adam\x00 keeps moving averages — моменты, 勾配, 🚀 and \x1b[31mred\x1b[0m."
    data = json.loads(cli("practice", "optimization/adam", "--json", input=text).stdout)
    [stored] = json.loads(cli("history", "--json").stdout)["attempts"]
    assert stored["text"] == text and data["status"] == "graded"


def test_stats_shows_progress_per_topic_weakest_and_improved(cli):
    assert "Nothing practised yet" in cli("stats").stdout
    cli("practice", "regularization/dropout", input="It is a regularization method.")
    cli("practice", "optimization/adam", input=GOOD_ADAM)
    better = (
        "During training each unit is zeroed at random with probability p, so units cannot co-adapt and "
        "must learn redundant features; it works like an ensemble of thinned networks."
    )
    cli("practice", "regularization/dropout", input=better)
    stats = json.loads(cli("stats", "--json").stdout)
    assert (stats["sessions"], stats["answers"], stats["graded"]) == (3, 3, 3)
    assert {t["topic"] for t in stats["topics"]} == {"regularization", "optimization"}
    [(qid, before, after)] = stats["improved"]
    assert qid == "regularization/dropout" and after > before
    assert stats["weakest"][0][0] == "regularization/dropout"  # its latest score is still below Adam's
    assert "Weakest questions" in cli("stats").stdout


def test_an_evidence_quote_is_not_cut_at_an_abbreviation(cli):
    answer = (
        "Adam keeps an exponential moving average of the gradients w.r.t. each weight, like momentum, "
        "and a moving average of the squared gradients, i.e. like RMSProp."
    )
    result = cli("practice", "optimization/adam", "--json", "--grader", "offline", input=answer)
    quotes = [p["evidence"] for p in json.loads(result.stdout)["key_points"] if p["evidence"]]
    assert quotes and all(q == answer for q in quotes)


FATAL_BANK = '''
topic = "mine"
title = "Mine"

[[questions]]
id = "mine/dropout"
difficulty = "easy"
prompt = "What is dropout?"
reference = """During training dropout randomly zeroes each unit's output with probability p, so units cannot co-adapt. At inference it is turned off and all units are used."""

[[questions.key_points]]
point = "During training it randomly zeroes units' outputs with probability p"
weight = 3
terms = ["random | randomly", "zero | zeroes | drop | drops | switch off", "unit | units | neuron | neurons | activation | activations"]

[[questions.key_points]]
point = "At inference it is turned off and all units are used"
weight = 2
terms = ["inference | test time | evaluation", "off | disabled | all units | full network | full input"]

[[questions.misconceptions]]
point = "Dropout drops training examples (confused with data augmentation)"
terms = ["data augmentation | augmentation method | drops training examples | drops examples"]
severity = "major"
why = "Wrong: dropout zeroes units inside the network, not examples of the data set."
{fatal}
'''
SWAPPED_DROPOUT = (
    "Dropout is a data augmentation method. Each step it randomly zeroes some units, a different "
    "set every time. It is turned off at inference, so all units are used."
)


def test_a_fatal_misconception_holds_the_answer_to_2_and_says_why(cli, tmp_path):
    """The same answer, the same misconception: marked fatal, whatever else the answer says right
    earns no more than 2, and the grade says which claim did it."""
    scores, verdicts = {}, {}
    for fatal in ("", "fatal = true"):
        custom = tmp_path / f"bank{bool(fatal)}.toml"
        custom.write_text(FATAL_BANK.replace("{fatal}", fatal))
        result = cli("practice", "mine/dropout", "--bank", str(custom), "--json", input=SWAPPED_DROPOUT)
        assert result.exit_code == 0, result.stderr
        grade = json.loads(result.stdout)
        assert [e["text"] for e in grade["errors"]] == [
            "Dropout drops training examples (confused with data augmentation)"
        ]
        scores[bool(fatal)] = grade["score"], grade["cap"], grade["cap_reason"]
        verdicts[bool(fatal)] = [(kp["verdict"], kp["why"]) for kp in grade["key_points"]]
    assert scores[False][0] > 2 and scores[False][1] is None
    assert scores[True] == (
        2.0,
        2.0,
        "it gets what was asked wrong: Dropout drops training examples (confused with data augmentation)",
    )
    # What it says right is known no better than partly: the schedule brings it back soon.
    assert ("covered", None) in verdicts[False]
    assert [v for v, _ in verdicts[True]] == ["partial" if v == "covered" else v for v, _ in verdicts[False]]
    assert ("partial", "said in an answer that gets what was asked wrong") in verdicts[True]
    shown = cli("practice", "mine/dropout", "--bank", str(tmp_path / "bankTrue.toml"), input=SWAPPED_DROPOUT)
    assert "Held to at most 2: it gets what was asked wrong" in " ".join(shown.stdout.split())


ENSEMBLE_BANK = '''
topic = "mine"
title = "Mine"

[[questions]]
id = "mine/ensembles"
difficulty = "easy"
prompt = "Compare bagging and boosting."
reference = """Bagging trains its models independently on bootstrap samples and averages them. Boosting trains its models sequentially, each one fitting the errors of those before. Both combine many models."""

[[questions.key_points]]
point = "Bagging trains models independently on bootstrap samples and averages them"
about = "bagging | bootstrap aggregating"
weight = 2
terms = ["independent | independently | in parallel", "bootstrap | resampled"]

[[questions.key_points]]
point = "Boosting trains models sequentially, each fitting the errors of the ones before"
about = "boosting"
weight = 2
terms = ["sequential | sequentially | one after another", "errors | residuals | mistakes"]

[[questions.key_points]]
point = "Both combine many models into one ensemble"
weight = 1
terms = ["combine | combines | ensemble", "many models | several models | models"]
'''
BAGGING = "trains its models independently, each on a bootstrap sample, and averages them."
BOOSTING = "trains its models sequentially, each one fitting the errors of the previous ones."
BOTH = "Both combine many models into an ensemble."


def _practice_grader(cli, tmp_path, bank_text: str, question_id: str):
    """Grades answers to one question of a user's bank the way a user does: `practice --json`."""
    custom = tmp_path / "bank.toml"
    custom.write_text(bank_text)

    def grade(answer: str) -> dict:
        result = cli("practice", question_id, "--bank", str(custom), "--json", input=answer)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return grade


LEARNING_RATE_BANK = '''
topic = "mine"
title = "Mine"

[[questions]]
id = "mine/learning-rate"
difficulty = "easy"
prompt = "What does the learning rate do?"
reference = """It sets the step size of each update. Too large a rate makes the loss diverge; too small a rate makes training slow."""

[[questions.key_points]]
point = "It sets the step size of each update"
terms = ["step size | size of the step | size of each step", "update | updates"]

[[questions.key_points]]
point = "Too large a rate diverges; too small a rate is slow"
terms = ["diverge | diverges | blow up", "slow | slowly"]

[[questions.misconceptions]]
point = "Adam makes the learning rate irrelevant"
severity = "minor"
terms = ["adam", "irrelevant | does not matter"]

[[questions.misconceptions]]
point = "The learning rate is learned by backpropagation"
severity = "major"
terms = ["learned | learnt", "backpropagation | backprop"]
'''


def test_an_answer_that_states_two_wrong_claims_is_held_to_2(cli, tmp_path):
    """Neither claim is fatal alone: one costs its deduction, two hold the answer to 2."""
    grade = _practice_grader(cli, tmp_path, LEARNING_RATE_BANK, "mine/learning-rate")

    right = (
        "It sets the step size of each update. Too large and the loss can diverge; too small and it is slow."
    )
    one = grade(f"{right} It is learned by backpropagation like the weights.")
    assert [e["text"] for e in one["errors"]] == ["The learning rate is learned by backpropagation"]
    assert one["cap"] is None and one["score"] == 8.0  # 10, less 2 for a major error

    # The same claim said twice is still one wrong claim.
    again = grade(f"{right} It is learned by backpropagation. Backpropagation is how it is learned.")
    assert again["cap"] is None and len(again["errors"]) == 1

    two = grade(f"{right} It is learned by backpropagation, and with Adam it is irrelevant anyway.")
    assert [e["text"] for e in two["errors"]] == [
        "Adam makes the learning rate irrelevant",
        "The learning rate is learned by backpropagation",
    ]
    assert two["score"] == 2.0 and two["cap_reason"] == "it states two wrong claims"


def test_an_answer_that_swaps_what_it_compares_is_held_to_2_and_told_so(cli, tmp_path):
    """No misconception in the bank says it: the points themselves are said, each of the other
    subject. Reading "compared with X" or "unlike X" as the subject would tell a right answer the
    same, so those name what is compared with."""
    grade = _practice_grader(cli, tmp_path, ENSEMBLE_BANK, "mine/ensembles")

    right = grade(f"Bagging {BAGGING} Boosting {BOOSTING} {BOTH}")
    compared = grade(
        f"Unlike boosting, bagging {BAGGING} Compared with bagging it is boosting that {BOOSTING} {BOTH}"
    )
    for g in (right, compared):
        assert (g["score"], g["errors"]) == (10.0, [])

    swapped = grade(f"Boosting {BAGGING} Bagging {BOOSTING} {BOTH}")
    said = [
        "Says of boosting what holds for bagging: "
        "Bagging trains models independently on bootstrap samples and averages them",
        "Says of bagging what holds for boosting: "
        "Boosting trains models sequentially, each fitting the errors of the ones before",
    ]
    assert [e["text"] for e in swapped["errors"]] == said
    assert swapped["errors"][0]["evidence"].startswith("Boosting trains its models independently")
    assert swapped["score"] <= 2 and swapped["cap_reason"] == f"it gets what was asked wrong: {said[0]}"
    assert [kp["verdict"] for kp in swapped["key_points"]] == ["missing", "missing", "partial"]
    # What to practise names the points themselves, once each.
    assert [i for i in swapped["improvements"] if "bagging trains" in i.lower()] == [
        "Cover: Bagging trains models independently on bootstrap samples and averages them"
    ]

    # In one sentence, each subject in its own clause: the clauses that say a point name its subject.
    one = grade(f"Boosting {BAGGING[:-1]}, while bagging {BOOSTING} {BOTH}")
    assert [e["text"] for e in one["errors"]] == said and one["score"] <= 2
    right_in_one = grade(f"Bagging {BAGGING[:-1]}, while boosting {BOOSTING} {BOTH}")
    assert (right_in_one["score"], right_in_one["errors"]) == (10.0, [])

    # One point of each: a contrast may have been misread, so nothing is said either way.
    half = grade(f"Bagging {BAGGING} Bagging also {BOOSTING} {BOTH}")
    assert half["errors"] == [] and half["cap"] is None
    assert [kp["verdict"] for kp in half["key_points"]] == ["covered", "missing", "covered"]
