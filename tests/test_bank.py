"""The question bank: the built-in one, and the errors a user's bank file gets."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from interviewer import bank

VALID = """
topic = "custom"

[[questions]]
id = "custom/kv-cache"
difficulty = "hard"
prompt = "What is a KV cache?"
reference = "Keys and values of past tokens are stored so each new token attends without recomputing them."

[[questions.key_points]]
point = "Stores past keys and values"
weight = 2
terms = ["store | keep | cache", "key | value"]
"""


def _write(tmp_path, text, name="custom.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# --- the built-in bank ------------------------------------------------------------------------


def test_builtin_bank_starts_with_the_34_source_questions_in_8_topics(builtin_bank, source_questions):
    assert len(source_questions) == 34
    assert builtin_bank.topics[:8] == list(dict.fromkeys(q.topic for q in source_questions))


def test_every_builtin_question_is_well_formed(builtin_bank):
    for q in builtin_bank.questions:
        assert 3 <= len(q.key_points) <= 6, q.id
        assert q.id.startswith(q.topic + "/")


def test_the_sources_wrong_or_dated_answers_are_corrected_with_a_note(builtin_bank):
    corrected = {
        "evaluation/confusion-matrix": r"N\s*[×x]\s*N",
        "practical/slow-training": r"larger batch",
        "regularization/dropout": r"inverted dropout",
        "regularization/batch-norm": r"internal covariate shift",
    }
    for qid, pattern in corrected.items():
        q = builtin_bank.get(qid)
        assert q.note, f"{qid} has no note saying what was corrected"
        assert re.search(pattern, q.reference + " " + q.note, re.I), qid
    assert "4×4" not in builtin_bank.get("evaluation/confusion-matrix").reference


def test_content_hash_is_stable_and_follows_the_content(builtin_bank):
    q = builtin_bank.get("optimization/adam")
    assert q.content_hash == bank.load().get("optimization/adam").content_hash
    changed = q.model_copy(update={"reference": q.reference + " More."})
    assert changed.content_hash != q.content_hash


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('difficulty = "hard"\n', ""), r"custom/kv-cache: difficulty: missing field"),
        (
            lambda t: t.replace("weight = 2", "weight = -1"),
            r"custom/kv-cache: key_points\[0\]\.weight: .*greater than 0",
        ),
        (
            lambda t: t.replace("weight = 2", 'weight = "heavy"'),
            r"custom/kv-cache: key_points\[0\]\.weight: ",
        ),
        (
            lambda t: t.replace('difficulty = "hard"', 'difficulty = "hard"\nsource = "x"'),
            r"custom/kv-cache: source: unknown field",
        ),
        (
            lambda t: t.replace('difficulty = "hard"', 'difficulty = "extreme"'),
            r"custom/kv-cache: difficulty: ",
        ),
        (
            lambda t: t.replace('id = "custom/kv-cache"', 'id = "other/kv-cache"'),
            r"other/kv-cache: id: must start with the topic",
        ),
        (
            lambda t: t.replace('"store | keep | cache"', '"store | | cache"'),
            r"key_points\[0\]\.terms\[0\]: empty alternative",
        ),
        (lambda t: t.replace("[[questions]]", "[[questions]"), r"custom\.toml: not valid TOML"),
        (lambda t: t + t.split('topic = "custom"')[1], r"custom/kv-cache: id: duplicate"),
        (
            lambda t: t + '[[questions.follow_ups]]\nprompt = "And at inference?"\nprobes = [2]\n',
            r"custom/kv-cache: follow_ups: .*probes key point 2, but the question has 1",
        ),
        (
            lambda t: t + '[[questions.follow_ups]]\nprompt = "And at inference?"\nprobes = [0]\n',
            r"custom/kv-cache: follow_ups\[0\]\.probes\[0\]: .*greater than or equal to 1",
        ),
    ],
    ids=[
        "missing",
        "negative-weight",
        "text-weight",
        "unknown-field",
        "bad-difficulty",
        "bad-id",
        "empty-term",
        "toml",
        "duplicate",
        "follow-up-beyond",
        "follow-up-zero",
    ],
)
def test_a_bad_bank_file_gets_one_line_naming_file_question_and_field(cli, tmp_path, edit, expected):
    path = _write(tmp_path, edit(VALID))
    result = cli("bank", "validate", str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: ")
    assert re.search(expected, lines[0]), lines[0]
    assert "Traceback" not in result.output


def test_follow_ups_load_and_change_no_grade(tmp_path):
    plain = bank.load([_write(tmp_path, VALID)], builtin=False).get("custom/kv-cache")
    asking = VALID + '[[questions.follow_ups]]\nprompt = "Why does it grow with the context?"\nprobes = [1]\n'
    question = bank.load([_write(tmp_path, asking, "asking.toml")], builtin=False, cache_dir=tmp_path / "c")
    question = question.get("custom/kv-cache")
    assert [(f.prompt, f.probes) for f in question.follow_ups] == [
        ("Why does it grow with the context?", [1])
    ]
    assert question.content_hash == plain.content_hash  # rewording a follow-up leaves old grades current
    cached = bank.load([tmp_path / "asking.toml"], builtin=False, cache_dir=tmp_path / "c").get(
        "custom/kv-cache"
    )
    assert cached.follow_ups == question.follow_ups


def test_validate_accepts_a_good_file_and_a_folder(cli, tmp_path):
    _write(tmp_path, VALID)
    _write(tmp_path, VALID.replace("custom/kv-cache", "custom/other"), "second.toml")
    result = cli("bank", "validate", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "ok: 2 questions in 2 files" in result.stdout


def test_validate_of_a_missing_path_is_a_usage_error(cli, tmp_path):
    result = cli("bank", "validate", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert "no such bank file or folder" in result.stderr


def test_a_bad_extra_bank_stops_practice_before_anything_is_asked(cli, tmp_path, home):
    path = _write(tmp_path, VALID.replace("weight = 2", "weight = 0"))
    result = cli("practice", "--bank", str(path), input="an answer")
    assert result.exit_code == 2
    assert "custom/kv-cache: key_points[0].weight" in result.stderr
    assert not (home / "interviewer.db").exists()


# --- extra banks and the bank commands --------------------------------------------------------


def test_extra_banks_come_from_the_flag_and_the_environment(cli, tmp_path, builtin_bank):
    path = _write(tmp_path, VALID)
    by_flag = json.loads(cli("bank", "list", "--json", "--bank", str(path)).stdout)["questions"]
    by_env = json.loads(cli("bank", "list", "--json", env={"INTERVIEWER_BANK": str(path)}).stdout)[
        "questions"
    ]
    assert len(by_flag) == len(by_env) == len(builtin_bank) + 1
    assert {"custom/kv-cache"} <= {q["id"] for q in by_flag} & {q["id"] for q in by_env}


def test_an_extra_bank_may_not_redefine_a_builtin_question(cli, tmp_path):
    path = _write(
        tmp_path,
        VALID.replace('topic = "custom"', 'topic = "optimization"').replace(
            "custom/kv-cache", "optimization/adam"
        ),
    )
    result = cli("bank", "list", "--bank", str(path))
    assert result.exit_code == 2
    assert "optimization/adam: id: duplicate, first defined in" in result.stderr


def test_bank_list_filters_by_topic(cli):
    result = cli("bank", "list", "--topic", "evaluation", "--json")
    ids = [q["id"] for q in json.loads(result.stdout)["questions"]]
    assert ids and all(i.startswith("evaluation/") for i in ids)
    table = cli("bank", "list", "--topic", "evaluation").stdout
    assert "evaluation/confusion-matrix" in table and "optimization/adam" not in table


def test_bank_list_with_an_unknown_topic_names_the_topics(cli):
    result = cli("bank", "list", "--topic", "poetry")
    assert result.exit_code == 2
    assert "unknown topic 'poetry'; topics are: fundamentals," in result.stderr


def test_bank_show_prints_reference_key_points_and_note(cli, builtin_bank):
    result = cli("bank", "show", "evaluation/confusion-matrix")
    assert result.exit_code == 0
    q = builtin_bank.get("evaluation/confusion-matrix")
    assert q.prompt in result.stdout
    assert q.key_points[0].point[:40] in result.stdout
    assert "Note:" in result.stdout


def test_bank_show_keeps_the_graders_words_and_the_follow_ups_for_authors(cli, builtin_bank):
    q = builtin_bank.get("classical-ml/linear-regression")
    term = q.key_points[0].terms[0].split("|")[0].strip()
    candidate = cli("bank", "show", q.id).stdout
    assert q.key_points[0].point[:40] in candidate
    assert "offline grader matches" not in candidate and term not in candidate
    assert not any(f.prompt[:40] in candidate for f in q.follow_ups)
    author = cli("bank", "show", q.id, "--terms").stdout
    assert "offline grader matches" in author and term in author
    assert all(f.prompt[:40] in author for f in q.follow_ups) and "after a gap in key point 5" in author


def test_bank_show_of_an_unknown_id_suggests_close_ones(cli):
    result = cli("bank", "show", "adam")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: no question 'adam' in the bank (did you mean optimization/adam?); `interviewer bank list` shows them"
    )


def test_the_cache_of_validated_files_follows_edits_and_survives_corruption(cli, tmp_path, home):
    path = _write(tmp_path, VALID)
    assert "custom/kv-cache" in cli("bank", "list", "--bank", str(path)).stdout
    cached = list((home / "cache" / "bank").glob("*.json"))
    assert cached, "validated files are cached"
    path.write_text(VALID.replace("What is a KV cache?", "What does a KV cache store?"))
    assert "What does a KV cache store?" in cli("bank", "list", "--bank", str(path)).stdout
    path.write_text(VALID.replace("weight = 2", "weight = 0"))
    assert cli("bank", "list", "--bank", str(path)).exit_code == 2  # an edit is validated again
    for file in cached:
        file.write_text("{not json")
    assert cli("bank", "list").exit_code == 0


def test_bank_list_from_a_warm_cache_builds_no_question_model(cli, home):
    """`bank list` runs often: from the cache's listing it needs no model class (see bank_cache)."""
    code = (
        "import sys\nfrom interviewer.cli import main\nsys.argv = ['interviewer', 'bank', 'list']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint('interviewer.bank' in sys.modules)"
    )
    env = {**os.environ, "INTERVIEWER_HOME": str(home)}
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True) for _ in "ab"
    ]
    listed = [re.search(r"\d+ questions in \d+ topics", run.stdout) for run in runs]
    assert listed[0] and listed[1] and listed[0].group() == listed[1].group()
    assert [run.stdout.split()[-1] for run in runs] == ["True", "False"]  # cold, then from the listing


def _ship_index(directory, files):
    """The index a wheel's build hook writes (interviewer/_wheel_hook.py), written into `directory`."""
    from interviewer import bank_cache

    entries = [bank.cache_entries(bank.load_file(file)[0]) for file in files]
    index = bank_cache.build_index(files, [d for d, _ in entries], [listed for _, listed in entries])
    directory.mkdir()
    for kind, document in index.items():
        (directory / f"index.{kind}").write_text(json.dumps(document), encoding="utf-8")


def test_a_wheels_shipped_index_stands_in_for_the_first_validation(tmp_path, monkeypatch, builtin_bank):
    from interviewer import bank_cache, resources

    files = bank_cache.bank_files(resources.bank_dir())
    _ship_index(tmp_path / "index", files)
    monkeypatch.setattr(bank_cache, "SHIPPED", tmp_path / "index")
    bank_cache._index.cache_clear()
    monkeypatch.setattr(bank, "load_file", lambda path: pytest.fail(f"{path} was parsed"))
    try:
        shipped = bank.load(cache_dir=tmp_path / "cache")
        listed = bank_cache.listing([], tmp_path / "cache")
    finally:
        bank_cache._index.cache_clear()
    assert [q.model_dump() for q in shipped.questions] == [q.model_dump() for q in builtin_bank.questions]
    assert [q.id for q in listed or []] == [q.id for q in builtin_bank.questions]
    assert not (tmp_path / "cache").exists()  # nothing to cache: the wheel brought it


def test_a_shipped_index_that_no_longer_fits_its_file_is_not_used(tmp_path, monkeypatch):
    from interviewer import bank_cache, resources

    _ship_index(tmp_path / "index", bank_cache.bank_files(resources.bank_dir()))
    listing = json.loads((tmp_path / "index" / "index.list.json").read_text())
    first = next(iter(listing["files"]))
    listing["files"][first]["size"] += 1  # the bank file was edited after the wheel was built
    (tmp_path / "index" / "index.list.json").write_text(json.dumps(listing))
    monkeypatch.setattr(bank_cache, "SHIPPED", tmp_path / "index")
    bank_cache._index.cache_clear()
    try:
        assert bank_cache.listing([], tmp_path / "cache") is None  # so bank.load validates that file
    finally:
        bank_cache._index.cache_clear()
