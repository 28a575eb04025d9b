"""`interviewer calibrate`: the agreement measures, labelled sets in every format, and graders measured
through the real command (the offline grader, and the LLM grader over a mocked transport)."""

import csv
import hashlib
import itertools
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from llm_fakes import completion, verdicts_reply

from interviewer import calibrate, resources
from interviewer.calibrate import (
    ADVERSARIAL_KINDS,
    CORRECT_KINDS,
    band,
    mean_absolute_error,
    pearson,
    quadratic_kappa,
    ranks,
    share_within,
    spearman,
)

BASE = "http://llm.test/v1"
LEVELS = {"second-interviewer", "ranks-well", "rough", "unreliable", "too-few"}


def run_json(cli, *args):
    result = cli("calibrate", *args, "--json")
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


# --- the measures, against values worked out by hand and independent formulas ---------------------


def test_pearson_by_hand():
    # x = 1,2,3; y = 1,2,4: deviations (-1,0,1) and (-4/3,-1/3,5/3), covariance sum 3,
    # sums of squares 2 and 14/3: r = 3 / sqrt(28/3).
    assert pearson([1, 2, 3], [1, 2, 4]) == pytest.approx(3 / math.sqrt(28 / 3))
    assert pearson([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_pearson_is_undefined_not_zero_without_variance():
    assert pearson([1, 2, 3], [5, 5, 5]) is None
    assert pearson([4], [4]) is None
    assert pearson([], []) is None


def test_pearson_matches_the_standard_library_and_ignores_scale_and_shift():
    rng = random.Random(1)
    for _ in range(20):
        x = [rng.uniform(0, 10) for _ in range(30)]
        y = [a + rng.gauss(0, 3) for a in x]
        assert pearson(x, y) == pytest.approx(statistics.correlation(x, y))
        assert pearson([3 * a + 7 for a in x], y) == pytest.approx(pearson(x, y))


def test_ranks_share_ties():
    assert ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4]
    assert ranks([5, 5, 5]) == [2, 2, 2]
    assert ranks([3, 1, 2]) == [3, 1, 2]


def test_spearman_with_ties_by_hand():
    # ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): deviations (-1.5, 0, 0, 1.5) and (-1.5, .5, -.5, 1.5);
    # covariance sum 4.5, sums of squares 4.5 and 5: rho = 4.5 / sqrt(22.5) = 3 / sqrt(10).
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / math.sqrt(10))


def test_spearman_sees_only_order():
    x = [0.5, 1, 2, 4, 8, 9.5]
    assert spearman(x, [math.exp(v) for v in x]) == pytest.approx(1.0)
    assert spearman(x, [-(v**3) for v in x]) == pytest.approx(-1.0)


def _slow_kappa(x, y, k=11):
    """The textbook formula, spelled out with matrices: an independent check."""
    n = len(x)
    observed = [[0] * k for _ in range(k)]
    for a, b in zip(x, y, strict=True):
        observed[a][b] += 1
    row = [sum(r) for r in observed]
    col = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    w = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    num = sum(w[i][j] * observed[i][j] for i in range(k) for j in range(k))
    den = sum(w[i][j] * row[i] * col[j] / n for i in range(k) for j in range(k))
    return 1 - num / den


def test_quadratic_kappa_by_hand():
    # 3 categories, x = 0,1,2 and y = 0,2,2: weights (i-j)^2/4. Observed disagreement: w(1,2) = 1/4.
    # Expected: row totals (1,1,1), column totals (1,0,2): sum w * row * col / 3 = 5/4. kappa = 0.8.
    assert quadratic_kappa([0, 1, 2], [0, 2, 2], categories=3) == pytest.approx(0.8)
    # Full disagreement at the ends of the scale: observed 2, expected 1.
    assert quadratic_kappa([0, 10], [10, 0]) == pytest.approx(-1.0)
    assert quadratic_kappa([3, 7, 7, 9], [3, 7, 7, 9]) == pytest.approx(1.0)


def test_quadratic_kappa_properties():
    rng = random.Random(2)
    for _ in range(20):
        x = [rng.randint(0, 10) for _ in range(40)]
        y = [min(10, max(0, a + rng.randint(-3, 3))) for a in x]
        assert quadratic_kappa(x, y) == pytest.approx(_slow_kappa(x, y))
        assert quadratic_kappa(x, y) == pytest.approx(quadratic_kappa(y, x))
    # A rater who gives everyone the same score agrees no better than chance.
    assert quadratic_kappa([0, 2, 5, 9], [6, 6, 6, 6]) == pytest.approx(0.0)
    # Being off by more costs more: quadratic weights.
    truth = [0, 2, 4, 6, 8, 10]
    assert quadratic_kappa(truth, [1, 3, 5, 7, 9, 9]) > quadratic_kappa(truth, [3, 5, 7, 9, 10, 10])


def test_quadratic_kappa_refuses_ratings_it_cannot_place():
    with pytest.raises(ValueError, match="whole number"):
        quadratic_kappa([1, 11], [1, 2])
    with pytest.raises(ValueError, match="whole number"):
        quadratic_kappa([1.5], [1])
    with pytest.raises(ValueError, match="different lengths"):
        quadratic_kappa([1, 2], [1])
    assert quadratic_kappa([], []) is None
    assert quadratic_kappa([4, 4], [4, 4]) is None  # one category only: agreement is undefined


def test_rounding_to_whole_points_is_half_up():
    assert [band(s) for s in (0.0, 0.4, 0.5, 2.5, 7.49, 7.5, 10.0)] == [0, 0, 1, 3, 7, 8, 10]


def test_mean_error_and_share_within_one_point_by_hand():
    assert mean_absolute_error([0, 5, 10], [1, 5, 7]) == pytest.approx(4 / 3)
    assert share_within([0, 5, 10, 4], [1, 5, 7, 5.5]) == pytest.approx(0.5)
    assert share_within([6.000000000000001], [5]) == 1.0  # a rescaled label's float dust is not a miss
    assert mean_absolute_error([], []) is None and share_within([], []) is None


# --- the verdict ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figures", "level"),
    [
        ((100, 0, 0.85, 0.85, 0.75), "second-interviewer"),
        ((100, 1, 0.85, 0.85, 0.75), "second-interviewer"),  # 1% failed: still
        ((100, 3, 0.85, 0.85, 0.75), "ranks-well"),  # 3% failed: a second interviewer does not fail
        ((100, 0, 0.85, 0.85, 0.45), "rough"),  # ranks well, but too few scores within a point
        ((100, 0, 0.75, 0.72, 0.55), "ranks-well"),
        ((100, 0, 0.60, 0.55, 0.20), "rough"),
        ((100, 0, 0.45, 0.60, 0.90), "unreliable"),
        ((100, 12, 0.95, 0.95, 0.95), "unreliable"),  # over 10% failed
        ((10, 0, 0.95, 0.95, 0.95), "too-few"),
        ((0, 0, None, None, None), "too-few"),
    ],
)
def test_the_verdict_follows_the_documented_thresholds(figures, level):
    assert calibrate.judge(*figures).level == level


def test_a_constant_grader_is_named_as_such():
    verdict = calibrate.judge(50, 0, 0.0, None, 0.3, same_score=True)
    assert verdict.level == "unreliable" and "same score" in verdict.text


# --- labelled sets -------------------------------------------------------------------------------


def shipped_counts():
    return {
        p.name: len(tomllib.loads(p.read_text())["answers"])
        for p in resources.calibration_dir().glob("*.toml")
    }


def test_every_shipped_set_is_found_and_reads_cleanly(builtin_bank):
    sets = calibrate.load_sets(None, builtin_bank)
    assert {s.name: len(s.answers) for s in sets} == shipped_counts()
    assert {"answers.toml", "unseen.toml"} <= {s.name for s in sets}
    first = sets[[s.name for s in sets].index("answers.toml")].answers[0]
    assert first.id == "answers.toml:27" and first.line == 27  # the line of its [[answers]]
    assert first.question.id == "fundamentals/ml-vs-dl" and first.expected == 9 and first.kind == "strong"


def test_the_kinds_are_defined_once():
    assert {"strong", "good", "reference", "textbook", "correct"} == CORRECT_KINDS
    assert {"keywords", "glued", "swapped", "negation", "echo", "empty", "off-topic"} == ADVERSARIAL_KINDS


def write_csv(path, rows, header=("question", "answer", "score", "kind")):
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


DROPOUT = "regularization/dropout"
DROPOUT_ANSWER = (
    "During training dropout sets each unit's activation to zero with probability p, so units cannot "
    "co-adapt; it works like averaging an ensemble of thinned networks, and at test time nothing is dropped."
)


def test_a_csv_set_on_a_0_to_5_scale_with_questions_by_id_or_prompt(cli, builtin_bank, tmp_path, home):
    prompt = builtin_bank.get(DROPOUT).prompt
    shouted = re.sub(r"[?.!]", "", prompt).upper().replace(" ", "   ")  # case, spacing, punctuation aside
    path = write_csv(
        tmp_path / "mine.csv",
        [
            (DROPOUT, DROPOUT_ANSWER, "5", "strong"),
            (shouted, "Dropout is a kind of\nregularisation.", "2.5", ""),
            (DROPOUT, "dropout, neurons, ensemble, co-adaptation", "0", "keywords"),
        ],
    )
    result, report = run_json(cli, "--grader", "offline", "--set", str(path), "--scale", "5")
    assert result.exit_code == 0, result.stderr
    rows = report["rows"]
    assert [(r["id"], r["question"], r["expected"], r["kind"]) for r in rows] == [
        (f"{path}:2", DROPOUT, 10.0, "strong"),
        (f"{path}:3", DROPOUT, 5.0, None),
        (f"{path}:5", DROPOUT, 0.0, "keywords"),  # the quoted answer above spans two lines
    ]
    assert all(r["status"] == "graded" and 0 <= r["score"] <= 10 for r in rows)
    assert report["all"]["n"] == 3 and report["all"]["adversarial"]["answers"] == 1
    assert report["all"]["verdict"]["level"] == "too-few"
    assert not (home / "interviewer.db").exists(), "calibration is not practice: nothing is stored"


def test_a_jsonl_set_on_a_0_to_100_scale(cli, tmp_path):
    path = tmp_path / "mine.jsonl"
    lines = [
        {"question": DROPOUT, "answer": DROPOUT_ANSWER, "score": 90, "kind": "good", "rater": "ana"},
        {"question": "optimization/adam", "answer": "Adam is an optimiser.", "score": "35"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines[:1]) + "\n\n" + json.dumps(lines[1]) + "\n")
    result, report = run_json(cli, "--grader", "offline", "--set", str(path), "--scale", "100")
    assert result.exit_code == 0, result.stderr
    assert [(r["id"], r["expected"], r["kind"]) for r in report["rows"]] == [
        (f"{path}:1", 9.0, "good"),
        (f"{path}:3", 3.5, None),
    ]
    assert list(report["sets"]) == [str(path)]


def test_a_toml_set_in_the_shipped_format_and_a_shipped_set_by_name(cli, tmp_path, builtin_bank):
    path = tmp_path / "mine.toml"
    path.write_text(
        "# my own labels\n\n[[answers]]\n"
        f'question = "{DROPOUT}"\nkind = "strong"\nscore = 9\ntext = """\n{DROPOUT_ANSWER}\n"""\n'
    )
    result, report = run_json(cli, "--grader", "offline", "--set", str(path), "--set", "unseen")
    assert result.exit_code == 0, result.stderr
    assert list(report["sets"]) == [str(path), "unseen.toml"]
    assert report["rows"][0]["id"] == f"{path}:3"
    assert report["sets"]["unseen.toml"]["answers"] == shipped_counts()["unseen.toml"]
    unseen = next(s for s in calibrate.load_sets(None, builtin_bank) if s.name == "unseen.toml")
    assert report["rows"][1]["id"] == unseen.answers[0].id, "the same ids as in the default run"


UNIT = {"question": DROPOUT, "answer": DROPOUT_ANSWER, "score": 5}


@pytest.mark.parametrize(
    ("name", "content", "args", "where", "message"),
    [
        ("a.csv", "question,answer\nx,y\n", (), 1, "must name the columns question, answer and score"),
        ("a.csv", f"question,answer,score\n{DROPOUT},fine,seven\n", (), 2, "score 'seven' is not a number"),
        ("a.csv", f"question,answer,score\n{DROPOUT},fine,11\n", (), 2, "score 11 is outside 0..10 (--scale"),
        ("a.csv", f"question,answer,score\n{DROPOUT},fine,6\n", ("--scale", "5"), 2, "outside 0..5"),
        ("a.csv", f"question,answer,score\n{DROPOUT},fine,-1\n", (), 2, "score -1 is outside 0..10"),
        ("a.csv", f"question,answer,score\n{DROPOUT},fine,nan\n", (), 2, "is not a number"),
        ("a.csv", f"question,answer,score\n{DROPOUT},  ,4\n", (), 2, "empty answer"),
        ("a.csv", f"question,answer,score\n{DROPOUT},,4\n", (), 2, "empty answer"),
        ("a.csv", "question,answer,score\nwhat is life,fine,4\n", (), 2, "unknown question 'what is life'"),
        (
            "a.csv",
            "question,answer,score\nregularization/dropuot,fine,4\n",
            (),
            2,
            "did you mean regularization/dropout",
        ),
        (
            "a.csv",
            f"question,answer,score\n{DROPOUT},yes, it is,4\n",
            (),
            2,
            "4 fields where the header has 3",
        ),
        (
            "a.csv",
            f'question,answer,score\n{DROPOUT},"one\ntwo",4\n{DROPOUT},fine,x\n',
            (),
            4,
            "not a number",
        ),
        ("a.jsonl", json.dumps(UNIT) + "\n{'question': 1}\n", (), 2, "not valid JSON"),
        ("a.jsonl", json.dumps({**UNIT, "score": None}), (), 1, "missing field score"),
        ("a.jsonl", json.dumps({"question": DROPOUT, "score": 3}), (), 1, "missing field answer"),
        ("a.jsonl", "\n" + json.dumps([UNIT]), (), 2, "a JSON object is needed, not list"),
        ("a.jsonl", json.dumps({**UNIT, "score": True}), (), 1, "score 'True' is not a number"),
        ("a.jsonl", json.dumps({**UNIT, "answer": 42}), (), 1, "answer must be text, not int"),
        ("a.toml", '[[answers]]\nquestion = "x"\nscore = \n', (), 3, "not valid TOML"),
        # json.loads raises a plain ValueError for an integer of more than 4,300 digits
        ("a.jsonl", json.dumps(UNIT).replace(": 5}", f": {'9' * 5000}}}"), (), 1, "not valid JSON: Exceeds"),
        (
            "a.jsonl",
            json.dumps(UNIT).replace(": 5}", f": {'9' * 400}}}"),
            (),
            1,
            "is not a number",
        ),  # no float
        ("a.csv", f"question,answer,score\n{DROPOUT},fine,1_0\n", (), 2, "score '1_0' is not a number"),
        ("a.jsonl", json.dumps({**UNIT, "answer": "fine \ud800"}), (), 1, "the answer holds \\ud800"),
        (
            "a.csv",
            f"question,answer,question,score\n{DROPOUT},fine,x,4\n",
            (),
            1,
            "names question more than once",
        ),
        (
            "a.toml",
            f'[[answers]]\nquestion = "{DROPOUT}"\nscore = 3\ntext = "ok"\n\n[[answers]]\nquestion = "{DROPOUT}"\nscore = 3\n',
            (),
            6,
            "missing field answer",
        ),
    ],
)
def test_bad_input_is_one_line_naming_file_and_line_before_anything_is_graded(
    cli, tmp_path, name, content, args, where, message
):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = cli("calibrate", "--grader", "offline", "--set", str(path), *args)
    assert result.exit_code == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path}:{where}: ") and message in line, line


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf_16_set_is_named_as_such(cli, tmp_path, encoding):
    path = tmp_path / "a.csv"  # read as UTF-8, UTF-16-LE's header seemed to lack its columns
    path.write_bytes(f"question,answer,score\n{DROPOUT},fine,4\n".encode(encoding))
    result = cli("calibrate", "--grader", "offline", "--set", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f'error: {path}: UTF-16 text, not UTF-8: save it as UTF-8 ("CSV UTF-8" in a spreadsheet)'
    ]


def test_a_scale_near_the_largest_float_rescales_without_overflow(cli, tmp_path):
    path = write_csv(tmp_path / "a.csv", [(DROPOUT, DROPOUT_ANSWER, "1e308", "strong")])
    result, report = run_json(cli, "--grader", "offline", "--set", str(path), "--scale", "1e308")
    assert result.exit_code == 0, result.stderr
    assert report["rows"][0]["expected"] == 10.0


def test_a_file_name_that_is_not_utf_8_is_printed_and_written_as_json(tmp_path):
    path = tmp_path / os.fsdecode(b"caf\xe9.csv")  # Latin-1 bytes, as an old archive leaves them
    write_csv(path, [(DROPOUT, DROPOUT_ANSWER, "9", "strong")])
    env = {"INTERVIEWER_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    env["PYTHONIOENCODING"] = "utf-8:strict"  # as in a UTF-8 locale
    for args in ((), ("--json",)):
        result = subprocess.run(
            [sys.executable, "-m", "interviewer", "calibrate", "--grader", "offline", "--set", str(path), *args],
            capture_output=True, text=True, env=env, errors="strict",
        )  # fmt: skip
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert list(json.loads(result.stdout)["sets"]) == [str(tmp_path / "caf\ufffd.csv")]


def test_a_file_with_a_shipped_sets_name_is_a_set_of_its_own(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checks.toml").write_text(
        f'[[answers]]\nquestion = "{DROPOUT}"\nkind = "strong"\nscore = 9\ntext = "{DROPOUT_ANSWER}"\n'
    )
    result, report = run_json(cli, "--grader", "offline", "--set", "checks.toml", "--set", "checks")
    assert result.exit_code == 0, result.stderr
    shipped = str(resources.calibration_dir() / "checks.toml")
    assert {name: s["answers"] for name, s in report["sets"].items()} == {
        "checks.toml": 1,
        shipped: len(tomllib.loads(Path(shipped).read_text())["answers"]),
    }
    assert len({r["id"] for r in report["rows"]}) == len(report["rows"])


def test_every_problem_is_listed_and_an_llm_is_never_called(cli, tmp_path, respx_mock):
    route = respx_mock.post(f"{BASE}/chat/completions")
    path = tmp_path / "a.csv"
    data = f"question,answer,score\n{DROPOUT},fine,4\n{DROPOUT},fine,40\nnope,fine,4\n{DROPOUT},caf\xe9,4\n"
    path.write_bytes(data.encode("latin-1"))
    result = cli("calibrate", "--base-url", BASE, "--set", str(path))
    assert result.exit_code == 2
    at = data.index("\xe9")
    assert result.stderr.splitlines() == [f"error: {path}:5: not UTF-8 text (byte {at})"]
    path.write_text(f"question,answer,score\n{DROPOUT},fine,4\n{DROPOUT},fine,40\nnope,fine,4\n")
    result = cli("calibrate", "--base-url", BASE, "--set", str(path), "--set", str(tmp_path / "missing.csv"))
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        f"{path}:3",
        f"{path}:4",
        str(tmp_path / "missing.csv"),
    ]
    assert lines[2].endswith("no such file")
    assert result.exit_code == 2 and not route.calls


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scale", "0"), "--scale 0: give the top of your scores' range"),
        (("--scale", "-5"), "--scale -5: give the top of your scores' range"),
        (("--scale", "nan", "--set", "x.csv"), "--scale nan: give the top"),
        (("--scale", "5"), "--scale applies to your own sets (--set FILE); the shipped sets are scored 0-10"),
    ],
)
def test_a_wrong_scale_is_a_usage_error(cli, args, message):
    result = cli("calibrate", "--grader", "offline", *args)
    [line] = result.stderr.splitlines()
    assert result.exit_code == 2 and line.startswith(f"error: {message}")


def test_empty_files_and_folders_are_named(cli, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "blank.jsonl").write_text("\n\n")
    result = cli(
        "calibrate", "--grader", "offline", *("--set", str(tmp_path / "empty.csv")),
        *("--set", str(tmp_path / "blank.jsonl")), *("--set", str(tmp_path)),
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'empty.csv'}: empty: a CSV set needs a header line (question,answer,score,kind) and rows",
        f"error: {tmp_path / 'blank.jsonl'}: no labelled answers in it",
        f"error: {tmp_path}: is a folder, not a file",
    ]


# --- the offline grader over the shipped sets -------------------------------------------------------


def _without_timing(report):
    return {k: v for k, v in report.items() if k not in {"seconds", "latency_ms_median"}}


def test_the_offline_grader_over_the_shipped_sets(cli, home):
    result, report = run_json(cli, "--grader", "offline")
    assert result.exit_code == 0, result.stderr
    counts = shipped_counts()
    assert {name: f["answers"] for name, f in report["sets"].items()} == counts
    assert report["all"]["n"] == sum(counts.values()) == len(report["rows"])
    assert report["gradings"] == {
        "planned": len(report["rows"]),
        "done": len(report["rows"]),
        "failed": 0,
        "failures": [],
    }
    assert report["grader"] == "offline" and report["tokens"] is None and report["interrupted"] is False

    every = report["all"]
    for key in ("pearson", "spearman", "kappa"):
        assert -1 <= every[key] <= 1
    assert every["spearman"] > 0.6 and every["kappa"] > 0.6, "a sane grader ranks answers as the labels do"
    assert 0 <= every["mae"] <= 10 and 0 <= every["within_one"] <= 1
    assert every["verdict"]["level"] in LEVELS and report["verdict"]["level"] == every["verdict"]["level"]

    # The findings are the rows that show them.
    rows = report["rows"]
    adversarial = [r for r in rows if r["kind"] in ADVERSARIAL_KINDS]
    assert every["adversarial"]["answers"] == len(adversarial)
    assert every["adversarial"]["max_score"] == max(r["score"] for r in adversarial)
    assert every["adversarial"]["over_2"] == [r["id"] for r in adversarial if r["score"] > 2]
    correct = [r for r in rows if r["kind"] in CORRECT_KINDS]
    assert every["false_errors"] == {
        "correct_answers": len(correct),
        "ids": [r["id"] for r in correct if r["errors"]],
    }
    assert every["within_one"] == pytest.approx(
        sum(abs(r["score"] - r["expected"]) <= 1 for r in rows) / len(rows), abs=1e-4
    )
    caveats = report["verdict"]["caveats"]
    assert any("answers built to game a grader" in c for c in caveats) == bool(every["adversarial"]["over_2"])
    assert any("correct answers were told of an error" in c for c in caveats) == bool(
        every["false_errors"]["ids"]
    )
    assert not (home / "interviewer.db").exists()

    again, second = run_json(cli, "--grader", "offline")
    assert _without_timing(second) == _without_timing(report), "the same grades and figures every run"


def test_the_figures_in_the_terminal(cli):
    result = cli("calibrate", "--grader", "offline", "--set", "unseen")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    n = shipped_counts()["unseen.toml"]
    assert out.startswith(f"Calibration of offline estimate against {n} labelled answers in 1 set\n")
    for label in ("Pearson", "Spearman", "kappa (quadratic)", "mean error, points", "within ±1 point",
                  "adversarial over 2", "adversarial max", "false errors", "failed", "verdict"):  # fmt: skip
        assert f"\n{label} " in out, label
    assert re.search(r"\nWall time: \d+\.\d s for \d+ gradings", out)
    assert "\nVerdict: " in out and "Tokens" not in out  # the offline grader uses none
    assert "Grading: offline grader (chosen by flag)" in result.stderr
    assert f"Grading {n} labelled answers from unseen.toml. Ctrl-C stops" in result.stderr


def test_repeated_offline_runs_agree_completely(cli, tmp_path):
    path = write_csv(
        tmp_path / "s.csv", [(DROPOUT, DROPOUT_ANSWER, 9, "strong"), (DROPOUT, "It drops units.", 3, "weak")]
    )
    result, report = run_json(cli, "--grader", "offline", "--set", str(path), "--repeat", "3")
    assert result.exit_code == 0
    assert report["agreement"] == {
        "runs": 3,
        "answers": 2,
        "identical": 1.0,
        "mean_difference": 0.0,
        "largest_difference": 0.0,
    }
    assert [len(r["scores"]) for r in report["rows"]] == [3, 3] and report["gradings"]["done"] == 6
    text = cli("calibrate", "--grader", "offline", "--set", str(path), "--repeat", "3").stdout
    assert "Run to run (3 runs, 2 answers): 100% scored the same every time" in text


def test_ctrl_c_prints_the_figures_for_what_was_graded(cli, monkeypatch):
    from interviewer.grading import offline

    real, calls = offline.OfflineGrader.grade, itertools.count(1)

    def grade(self, question, answer):
        if next(calls) == 30:  # the user presses Ctrl-C during the 30th grading
            raise KeyboardInterrupt
        return real(self, question, answer)

    monkeypatch.setattr(offline.OfflineGrader, "grade", grade)
    result, report = run_json(cli, "--grader", "offline", "--set", "unseen")
    assert result.exit_code == 130
    assert report["interrupted"] is True and report["gradings"]["done"] == 29
    assert report["all"]["n"] == 29 and report["all"]["answers"] == shipped_counts()["unseen.toml"]
    assert [r["status"] for r in report["rows"]].count("not graded") == len(report["rows"]) - 29
    assert "Interrupted after 29 of" in result.stderr

    calls = itertools.count(1)
    text = cli("calibrate", "--grader", "offline", "--set", "unseen")
    n = shipped_counts()["unseen.toml"]
    assert text.exit_code == 130
    assert f"Interrupted after 29 of {n} gradings: the figures are for what was graded" in text.stdout


# --- an LLM grader over a mocked transport --------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_COMMON = frozenset(
    "the and that this with from into than then them they their what when which does each only".split()
)


def _words(text, skip=frozenset()):
    return {w[:5] for w in _WORD.findall(text.lower()) if len(w) > 3 and w not in _COMMON} - skip


def _sentences(answer):
    return [s.strip() for s in re.split(r"(?<=[.!?;:])\s+|\n+", answer) if len(s.split()) >= 4]


def _evidence(question, point, answer):
    """The sentence of the answer that shares most words with the key point, as a careful model quotes."""
    skip = _words(question.prompt)
    wanted = _words(" ".join([point.point, *point.terms]).replace("|", " "), skip)
    best = max(_sentences(answer), key=lambda s: len(wanted & _words(s)), default=None)
    if best is None or not wanted & _words(best):
        return None
    return best if len(best) <= 200 else best[:200].rsplit(" ", 1)[0]


class ScriptedModel:
    """A grading model behind the mocked endpoint; `judge(question, answer, label, call)` gives verdicts."""

    def __init__(self, labels, judge, fail=lambda label: False):
        self.labels, self.judge, self.fail = labels, judge, fail
        self.calls = {}
        self.lock = threading.Lock()

    def __call__(self, request):
        user = json.loads(request.content)["messages"][1]["content"]
        answer = re.search(r"<<<ANSWER (\w+)>>>\n(.*)\n<<<END ANSWER \1>>>", user, re.S).group(2).strip()
        question, label = self.labels[answer]
        with self.lock:
            call = self.calls[answer] = self.calls.get(answer, 0) + 1
        if self.fail(label):
            return httpx.Response(500, json={"error": {"message": "the model crashed"}})
        verdicts = self.judge(question, answer, label, call)
        return completion(verdicts_reply(verdicts), usage=(1000, 100, 800))


def good_judge(question, answer, label, call):
    """Verdicts that come as close to the label as they can without passing it, crediting only points
    it can quote for."""
    points = question.key_points
    quotes = [_evidence(question, kp, answer) for kp in points]
    target = label / 10 * sum(kp.weight for kp in points) + 1e-9
    verdicts = ["missing"] * len(points)
    credit = 0.0
    for i, kp in enumerate(points):
        if quotes[i] is None:
            continue
        if credit + kp.weight <= target:
            verdicts[i], credit = "covered", credit + kp.weight
        elif credit + kp.weight / 2 <= target:
            verdicts[i], credit = "partial", credit + kp.weight / 2
    return list(zip(verdicts, quotes, strict=True))


def random_judge(question, answer, label, call):
    """Verdicts at random (a quote where it can find one, so that the reply is well formed)."""
    rng = random.Random(hashlib.sha256(answer.encode()).digest())
    quotes = [_evidence(question, kp, answer) for kp in question.key_points]
    return [(rng.choice(["covered", "partial", "missing"]) if q else "missing", q) for q in quotes]


def silent_judge(question, answer, label, call):
    return [("missing", None)] * len(question.key_points)


@pytest.fixture
def sample(tmp_path, builtin_bank):
    """A JSONL set of 40 shipped answers (none empty: an empty answer cannot be quoted at all)."""
    answers = tomllib.loads((resources.calibration_dir() / "answers.toml").read_text())["answers"]
    chosen = [a for a in answers if a["kind"] != "empty"][::4][:40]
    path = tmp_path / "sample.jsonl"
    path.write_text("".join(json.dumps({"question": a["question"], "answer": a["text"], "score": a["score"],
                                        "kind": a["kind"]}) + "\n" for a in chosen))  # fmt: skip
    labels = {a["text"].strip(): (builtin_bank.get(a["question"]), a["score"]) for a in chosen}
    assert len(labels) == 40
    return path, labels


def calibrate_llm(cli, respx_mock, sample, judge, *args, **kw):
    path, labels = sample
    model = ScriptedModel(labels, judge, **kw)
    route = respx_mock.post(f"{BASE}/chat/completions").mock(side_effect=model)
    result, report = run_json(cli, "--base-url", BASE, "--model", "scripted", "--set", str(path), *args)
    return result, report, route


def test_a_model_that_grades_well_and_one_that_grades_badly_get_different_verdicts(cli, respx_mock, sample):
    result, good, route = calibrate_llm(cli, respx_mock, sample, good_judge)
    assert result.exit_code == 0, result.stderr
    assert good["grader"] == "llm:scripted" and len(route.calls) == 40
    assert good["gradings"]["failed"] == 0
    assert good["all"]["spearman"] > 0.8 and good["all"]["kappa"] > 0.8
    assert good["verdict"]["level"] in {"second-interviewer", "ranks-well"}, good["all"]
    assert good["tokens"] == {"prompt_tokens": 40_000, "completion_tokens": 4_000, "cached_tokens": 32_000}

    verdicts = {}
    for name, judge in (("random", random_judge), ("constant", silent_judge)):
        respx_mock.routes.clear()
        result, bad, _ = calibrate_llm(cli, respx_mock, sample, judge)
        assert result.exit_code == 0 and bad["gradings"]["failed"] == 0
        verdicts[name] = bad["verdict"]
        assert bad["verdict"]["level"] == "unreliable", (name, bad["all"])
    assert verdicts["constant"]["text"] == "do not rely on it: it gives every answer the same score"
    assert verdicts["random"]["text"] == "do not rely on it: its scores follow the labels too loosely"


def test_the_llm_figures_in_the_terminal(cli, respx_mock, sample):
    path, labels = sample
    respx_mock.post(f"{BASE}/chat/completions").mock(side_effect=ScriptedModel(labels, good_judge))
    result = cli("calibrate", "--base-url", BASE, "--model", "scripted", "--set", str(path))
    assert result.exit_code == 0
    assert "Calibration of llm:scripted against 40 labelled answers in 1 set" in result.stdout
    assert "Tokens: 40,000 prompt (32,000 cached), 4,000 completion." in result.stdout
    assert "Grading: LLM grader: scripted at http://llm.test/v1" in result.stderr


def _config(home, **values):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))


def test_failed_gradings_are_counted_never_scored_zero(cli, respx_mock, sample, home):
    _config(home, max_retries=0)
    result, report, _ = calibrate_llm(cli, respx_mock, sample, good_judge, fail=lambda label: label >= 8)
    failing = sum(1 for _, label in sample[1].values() if label >= 8)
    assert 4 < failing < 36
    rows = report["rows"]
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == failing == report["all"]["failed"] == report["gradings"]["failed"]
    assert all(r["score"] is None and "HTTP 500" in r["failure"] for r in failed)
    assert report["all"]["n"] == 40 - failing
    assert report["gradings"]["failures"] == [{"reason": failed[0]["failure"], "count": failing}]
    assert report["verdict"]["level"] == "unreliable"
    assert report["verdict"]["text"] == f"do not rely on it: {failing} of 40 gradings failed"
    assert result.exit_code == 0  # it measured something

    respx_mock.routes.clear()
    result, report, _ = calibrate_llm(cli, respx_mock, sample, good_judge, fail=lambda label: True)
    assert result.exit_code == 1 and report["all"]["n"] == 0 and report["all"]["kappa"] is None
    text = cli("calibrate", "--base-url", BASE, "--model", "scripted", "--set", str(sample[0])).stdout
    assert "Failed: 40 of 40 gradings (not counted as scores)." in text
    assert re.search(r"\n  40 × .*HTTP 500", text)


def test_run_to_run_agreement_of_a_model_that_changes_its_mind(cli, respx_mock, sample):
    def fickle(question, answer, label, call):
        # On its second look it finds nothing in the answers labelled 4 or more.
        return (
            silent_judge(question, answer, label, call)
            if call == 2 and label >= 4
            else good_judge(question, answer, label, call)
        )

    result, report, route = calibrate_llm(cli, respx_mock, sample, fickle, "--repeat", "2")
    assert result.exit_code == 0 and len(route.calls) == 80
    rows = report["rows"]
    changed = {r["id"] for r in rows if r["scores"][0] != r["scores"][1]}
    labelled_high = {r["id"] for r in rows if r["expected"] >= 4 and max(r["scores"]) > 0}
    assert changed == labelled_high and 10 < len(changed) < 40
    agreement = report["agreement"]
    assert agreement["runs"] == 2 and agreement["answers"] == 40
    assert agreement["identical"] == pytest.approx(1 - len(changed) / 40)
    assert agreement["mean_difference"] == pytest.approx(
        statistics.fmean(abs(r["scores"][0] - r["scores"][1]) for r in rows), abs=1e-4
    )
    assert agreement["largest_difference"] == max(abs(r["scores"][0] - r["scores"][1]) for r in rows)
    assert any(c.startswith("scores change between runs") for c in report["verdict"]["caveats"])


def test_json_rows(cli, respx_mock, sample):
    result, report, _ = calibrate_llm(cli, respx_mock, sample, good_judge)
    row = report["rows"][0]
    assert set(row) == {
        "id",
        "set",
        "line",
        "question",
        "kind",
        "expected",
        "score",
        "status",
        "failure",
        "errors",
    }
    path, labels = sample
    first = json.loads(path.read_text().splitlines()[0])
    assert row["id"] == f"{path}:1" and row["set"] == str(path) and row["line"] == 1
    assert (row["question"], row["kind"], row["expected"]) == (
        first["question"],
        first["kind"],
        first["score"],
    )
    assert row["status"] == "graded" and isinstance(row["score"], float) and row["failure"] is None
    assert [r["id"] for r in report["rows"]] == [f"{path}:{n}" for n in range(1, 41)], "in the set's order"


def test_grading_runs_on_as_many_threads_as_the_mock_and_no_more(cli, respx_mock, sample):
    from interviewer.session import MAX_CONCURRENT_GRADES

    path, labels = sample
    model = ScriptedModel(labels, good_judge)
    together = threading.Barrier(MAX_CONCURRENT_GRADES, timeout=20)  # 40 calls: 8 full rounds
    busy, most, lock = 0, 0, threading.Lock()

    def server(request):
        nonlocal busy, most
        with lock:
            busy += 1
            most = max(most, busy)
        together.wait()  # every call waits until as many are in flight as the bound allows
        with lock:
            busy -= 1
        return model(request)

    respx_mock.post(f"{BASE}/chat/completions").mock(side_effect=server)
    result, report = run_json(cli, "--base-url", BASE, "--set", str(path))
    assert result.exit_code == 0 and report["gradings"]["failed"] == 0
    assert most == MAX_CONCURRENT_GRADES


def test_progress_is_reported_and_ctrl_c_in_the_pool_keeps_what_was_graded(builtin_bank, tmp_path):
    path = write_csv(
        tmp_path / "s.csv", [(DROPOUT, f"Answer number {i} about dropout.", i % 11, "") for i in range(30)]
    )
    sets = calibrate.load_sets([path], builtin_bank)
    seen = []

    class Counting:
        name = "counting"

        def grade(self, question, answer):
            from interviewer.grading.model import Grade

            return Grade(grader=self.name, score=float(answer.split()[2]) % 11)

    def progress(done, total):
        seen.append((done, total))
        if done == 12:
            raise KeyboardInterrupt

    result = calibrate.run(sets, Counting(), progress=progress, inline=False)
    assert seen == [(i, 30) for i in range(13)]
    assert result.interrupted and result.done == 12 and result.overall.graded == 12
    assert sum(r.status == "not graded" for r in result.rows) == 18


class _Silent(BaseHTTPRequestHandler):
    """An endpoint that takes requests and never answers, until the test ends."""

    arrived: threading.Event
    release: threading.Event

    def do_POST(self):
        self.arrived.set()
        self.release.wait(30)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_ctrl_c_on_a_real_process_with_requests_in_flight(tmp_path, sample):
    arrived, release = threading.Event(), threading.Event()
    handler = type("Handler", (_Silent,), {"arrived": arrived, "release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"INTERVIEWER_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    # SIGINT raises KeyboardInterrupt whatever the shell that started the tests did with it.
    code = "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); from interviewer.cli import main; main()"
    base_url = f"http://127.0.0.1:{server.server_port}/v1"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "calibrate", "--base-url", base_url, "--set", str(sample[0]), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert arrived.wait(30), "no grading request reached the endpoint"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)  # the requests in flight do not hold the exit
    finally:
        release.set()
        process.kill()
        server.shutdown()
    assert process.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True and report["gradings"]["done"] == 0
    assert "Interrupted after 0 of 40 gradings." in err and "Traceback" not in err
    assert not (tmp_path / "home" / "interviewer.db").exists()


# --- many offline gradings on one process per core ------------------------------------------------


def test_many_offline_gradings_on_processes_equal_grading_them_here(builtin_bank):
    """The shipped sets (over PROCESS_POOL_MIN_JOBS answers) go to spawned processes by default;
    every grade must be the one this process gives, in the answers' order."""
    from interviewer.grading.offline import OfflineGrader

    sets = calibrate.load_sets([], builtin_bank)
    assert sum(len(s.answers) for s in sets) >= calibrate.PROCESS_POOL_MIN_JOBS
    seen = []
    spread = calibrate.run(sets, OfflineGrader(), progress=lambda done, total: seen.append(done))
    here = calibrate.run(sets, OfflineGrader(), processes=False)
    dump = lambda result: [r.grade.model_dump(exclude={"latency_ms"}) for r in result.rows]  # noqa: E731
    assert dump(spread) == dump(here) and spread.done == here.done == len(spread.rows)
    assert seen == sorted(seen) and seen[-1] == len(spread.rows) and len(seen) > 2  # moved as chunks came
    # Processes started before the sets were read, as `interviewer calibrate` starts them.
    pool = calibrate.processes_ahead(OfflineGrader(), shipped=True)
    if os.cpu_count() == 1:
        assert pool is None
        return
    try:
        ahead = calibrate.run(sets, OfflineGrader(), pool=pool)
    finally:
        pool.shutdown()
    assert dump(ahead) == dump(here)


def test_processes_start_ahead_only_for_the_offline_grader_over_the_shipped_sets():
    from interviewer.config import Settings
    from interviewer.grading.llm import LLMGrader
    from interviewer.grading.offline import OfflineGrader

    assert calibrate.processes_ahead(OfflineGrader(), shipped=False) is None  # a user's set: maybe 2 rows
    llm = LLMGrader(Settings(grader="llm", model="m", base_url=BASE, max_retries=0))
    assert calibrate.processes_ahead(llm, shipped=True) is None  # it waits on the network, on threads


def test_a_process_that_cannot_start_leaves_its_answers_graded_here(builtin_bank, monkeypatch):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from interviewer.grading.offline import OfflineGrader

    class Broken:
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, fn, *args):
            future = Future()
            future.set_exception(BrokenProcessPool("A child process terminated abruptly"))
            return future

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(calibrate, "ProcessPoolExecutor", Broken)
    sets = calibrate.load_sets([resources.calibration_dir() / "unseen.toml"], builtin_bank)
    broken = calibrate.run(sets, OfflineGrader(), processes=True)
    here = calibrate.run(sets, OfflineGrader(), processes=False)
    assert [r.score for r in broken.rows] == [r.score for r in here.rows]
    assert broken.overall.failed == 0 and broken.done == len(here.rows)


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _running(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(
    not Path("/proc/self/task").exists() or (os.cpu_count() or 1) < 2, reason="Linux, 2 cores"
)
def test_the_grading_processes_end_when_calibrate_is_killed(tmp_path):
    """Killed (SIGTERM, SIGKILL: no cleanup runs), calibrate leaves no process behind: a grading
    process would otherwise wait forever to send its grades to the parent that is gone."""
    env = {"INTERVIEWER_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(  # 172 answers x 6 runs: over PROCESS_POOL_MIN_JOBS, so on processes
        [sys.executable, "-m", "interviewer", "calibrate", "--set", "answers", "--repeat", "6", "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    children = []
    try:
        deadline = time.monotonic() + 30
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:  # the tracker, a grader
            time.sleep(0.05)
        children = _children(process.pid)
        assert len(children) >= 2, "no grading process started"
        time.sleep(0.5)  # the grading process has its questions and grades
        process.kill()
        process.wait()
        deadline = time.monotonic() + 10
        while any(_running(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [c for c in children if _running(c)]
        assert not left, f"processes left behind: {left}"
    finally:
        process.kill()
        for child in filter(_running, children):
            os.kill(child, signal.SIGKILL)


def test_close_ids_are_looked_for_only_for_the_problems_shown(cli, tmp_path, monkeypatch):
    """Half a million rows of unknown questions took 19 s to report, a millisecond a row finding
    ids close to each; only the first MAX_PROBLEMS are shown."""
    import difflib

    calls = []
    close_matches = difflib.get_close_matches
    monkeypatch.setattr(
        difflib, "get_close_matches", lambda *a, **k: calls.append(a) or close_matches(*a, **k)
    )
    path = write_csv(tmp_path / "a.csv", [("regularization/dropuot", "fine", "4", "")] * 500)
    result = cli("calibrate", "--grader", "offline", "--set", str(path))
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == calibrate.MAX_PROBLEMS + 1
    assert all("did you mean regularization/dropout" in line for line in lines[:-1])
    assert lines[-1] == f"error: ... and {500 - calibrate.MAX_PROBLEMS} more problems"
    assert len(calls) == calibrate.MAX_PROBLEMS


def test_long_set_names_are_cut_short_not_the_labels_or_the_all_column(cli, tmp_path):
    names = ["interviews-of-the-spring-2024-hiring-round-scored-by-two-interviewers-" + x for x in "ab"]
    paths = [
        write_csv(tmp_path / f"{name}.csv", [(DROPOUT, DROPOUT_ANSWER, "9", "strong")]) for name in names
    ]
    result = cli("calibrate", "--grader", "offline", *(arg for p in paths for arg in ("--set", str(p))))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].endswith(" all") and "…" in lines[1]  # COLUMNS is 120 in the tests
    assert lines[2].startswith("answers graded (n) ") and lines[2].split()[-3:] == ["1", "1", "2"]
    assert max(map(len, lines[1:13])) <= 120


def test_a_parsed_set_is_read_back_from_the_cache_until_its_text_changes(builtin_bank, tmp_path, monkeypatch):
    """Parsing the shipped sets' TOML took 0.15 s of each run: it is kept as JSON, per set."""
    path = tmp_path / "mine.toml"
    entry = '[[answers]]\nquestion = "regularization/dropout"\nscore = {}\ntext = "Dropout zeroes units."\n'
    path.write_text(entry.format(7), encoding="utf-8")
    assert calibrate.load_sets([path], builtin_bank)[0].answers[0].expected == 7
    cached = list((tmp_path / "home" / "cache" / "calibration").glob("*.json"))
    assert len(cached) == 1

    parsed = []
    real_loads = calibrate.tomllib.loads
    monkeypatch.setattr(calibrate.tomllib, "loads", lambda text: parsed.append(text) or real_loads(text))
    again = calibrate.load_sets([path], builtin_bank)[0].answers[0]
    assert (again.expected, again.line, parsed) == (7, 1, [])  # read back, not parsed
    path.write_text(entry.format(3), encoding="utf-8")
    assert calibrate.load_sets([path], builtin_bank)[0].answers[0].expected == 3 and len(parsed) == 1
    cached[0].write_text('{"text": "x", "data": [', encoding="utf-8")  # damaged: it is only not used
    assert calibrate.load_sets([path], builtin_bank)[0].answers[0].expected == 3 and len(parsed) == 2


@pytest.mark.skipif(
    not Path("/proc/self/status").exists() or (os.cpu_count() or 1) < 2, reason="Linux, 2 cores"
)
def test_a_grading_process_ignores_ctrl_c_from_birth():
    """Ctrl-C goes to the whole process group: a grading process that got it while still importing
    the grader (before it could ignore it) printed a traceback under the parent's 'Stopped.'."""
    before = signal.getsignal(signal.SIGINT)
    pool = calibrate.start_processes()
    try:
        assert signal.getsignal(signal.SIGINT) is before  # the parent handles Ctrl-C as before
        children = _children(os.getpid())
        assert children
        for child in children:  # at once: a process takes ~0.3 s to import the grader
            ignored = int(
                re.search(r"SigIgn:\s*([0-9a-f]+)", Path(f"/proc/{child}/status").read_text())[1], 16
            )
            assert ignored & (1 << (signal.SIGINT - 1)), f"process {child} would take Ctrl-C"
    finally:
        pool.shutdown()
