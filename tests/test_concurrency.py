"""Grading threads share stemmers, caches and the database: many at once must grade as one does."""

import json
import tomllib
from concurrent.futures import ThreadPoolExecutor

from interviewer import resources
from interviewer.grading import offline, text
from interviewer.grading.offline import OfflineGrader


def _labelled():
    answers = []
    for path in sorted(resources.calibration_dir().glob("*.toml")):
        answers += tomllib.loads(path.read_text(encoding="utf-8"))["answers"]
    return answers


def _cold() -> None:
    """Forget every stem and compiled question, so threads race on filling them."""
    text.stem.cache_clear()
    text._word_key.cache_clear()
    offline._cache.clear()


def _result(grade):
    return grade.model_dump(exclude={"latency_ms"})


def test_many_threads_grade_exactly_as_one_does(builtin_bank):
    answers = _labelled()
    grader = OfflineGrader()
    jobs = [(builtin_bank.get(a["question"]), a["text"]) for a in answers]
    _cold()
    one_by_one = [_result(grader.grade(q, t)) for q, t in jobs]
    for _ in range(3):
        _cold()
        with ThreadPoolExecutor(max_workers=16) as pool:
            at_once = list(pool.map(lambda job: _result(grader.grade(*job)), jobs))
        assert at_once == one_by_one


def test_a_scripted_mock_grades_every_answer_the_same_every_time(cli, tmp_path, monkeypatch):
    answers = [a["text"].strip() for a in _labelled() if a["kind"] in {"strong", "partial"}][:10]
    script = tmp_path / "answers.txt"
    script.write_text("\n---\n".join(answers), encoding="utf-8")
    runs = []
    for run in range(4):
        monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path / f"home{run}"))
        _cold()
        result = cli(
            "mock", "-n", "10", "--seed", "3", "--grader", "offline", "--answers", str(script), "--json"
        )
        assert result.exit_code == 0, result.output
        questions = json.loads(result.stdout)["questions"]
        runs.append([(q["question_id"], q["status"], q["score"]) for q in questions])
    assert all(status == "graded" for _, status, _ in runs[0])
    assert runs == [runs[0]] * 4
