"""`bank import`: a user's Q&A notes become bank files whose questions are gradable at once."""

import json
import re
import textwrap
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interviewer import bank, bank_toml, derive
from interviewer.grading.offline import OfflineGrader


def _seed_document() -> Path:
    """The document the built-in bank came from, in ../shared/seeds/ beside the repository."""
    for folder in Path(__file__).resolve().parents:
        found = sorted((folder / "shared" / "seeds").glob("*.txt"))
        if found:
            return found[0]
    pytest.skip("the seed document (shared/seeds/) is not beside this checkout")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _imported(cli, *args: str):
    result = cli("bank", "import", *args)
    assert result.exit_code == 0, result.stderr
    return result


def _questions(path: Path) -> list[bank.Question]:
    return bank.load([path], builtin=False).questions


# --- the formats ------------------------------------------------------------------------------


def test_the_seed_document_imports_to_its_34_questions_in_8_topics(cli, tmp_path, source_questions):
    out = tmp_path / "seed.toml"
    result = _imported(cli, str(_seed_document()), "-o", str(out))
    questions = _questions(out)
    assert len(questions) == 34
    assert len({q.topic for q in questions}) == 8
    # Topic by topic, as many questions as the bank built from it has.
    sizes = [
        sum(q.topic == t for q in source_questions) for t in dict.fromkeys(q.topic for q in source_questions)
    ]
    assert [sum(q.topic == t for q in questions) for t in dict.fromkeys(q.topic for q in questions)] == sizes
    assert questions[1].prompt == "Explain overfitting and underfitting."
    assert questions[1].reference.startswith("Overfitting: Model learns training data too well")
    assert all(q.derived == "offline" and q.key_points for q in questions)
    assert "Imported 34 questions in 8 topics" in result.stdout
    assert ":2: text outside any question" in result.stdout  # the document's subtitle, by its line


MARKDOWN = """
    # My interview notes

    ## Optimization

    ### What does momentum do in SGD?
    It keeps a running average of past gradients,
    so steps along consistent directions grow and oscillations cancel.

    ### Explain weight decay.
    An L2 penalty on the weights that shrinks them toward zero each step.

    ## Evaluation
    Q: What is a ROC curve?
    A: The true positive rate plotted against the false positive rate across thresholds.

    1. **Why stratify a split?** Stratification keeps class proportions equal in every fold.
    2. What is leakage?
       Information from the test set or the future reaching training features.

       - it inflates validation scores

    3. What is an orphan question with no answer?

    ## Practical
    ```
    print("code before any question")
    ```
    """


def test_markdown_headings_q_a_pairs_and_numbered_lists(cli, tmp_path):
    source = _write(tmp_path, "notes.md", MARKDOWN)
    result = _imported(cli, str(source), "-o", str(tmp_path / "notes.toml"))
    questions = {q.prompt: q for q in _questions(tmp_path / "notes.toml")}
    assert list(questions) == [
        "What does momentum do in SGD?",
        "Explain weight decay.",
        "What is a ROC curve?",
        "Why stratify a split?",
        "What is leakage?",
    ]
    momentum = questions["What does momentum do in SGD?"]
    assert momentum.id == "optimization/momentum-sgd"
    assert momentum.reference == (
        "It keeps a running average of past gradients, so steps along consistent directions grow and oscillations cancel."
    )
    assert questions["What is a ROC curve?"].topic == "evaluation"
    assert (
        questions["Why stratify a split?"].reference
        == "Stratification keeps class proportions equal in every fold."
    )
    assert questions["What is leakage?"].reference.endswith(
        "training features.\n\n- it inflates validation scores"
    )
    assert "notes.md:22: a question with no answer" in result.stdout
    assert "notes.md:25: text outside any question" in result.stdout


CSV = """\
question,answer,topic,difficulty,id
What is dropout?,"Randomly zeroing activations during training,
so units cannot co-adapt.",Regularization,easy,
What is early stopping?,Stopping when the validation loss stops improving.,Regularization,,stop-early
What is a learning rate?,,Optimization,,
"""


def test_csv_with_answer_column_topic_difficulty_and_id(cli, tmp_path):
    source = tmp_path / "deck.csv"
    source.write_text(CSV, encoding="utf-8")
    result = _imported(cli, str(source), "-o", str(tmp_path / "deck.toml"))
    dropout, stop = _questions(tmp_path / "deck.toml")
    # The built-in bank has regularization/dropout: the new question does not take its id.
    assert (dropout.id, dropout.topic, dropout.difficulty.value) == (
        "regularization/dropout-2",
        "regularization",
        "easy",
    )
    assert dropout.reference == "Randomly zeroing activations during training,\nso units cannot co-adapt."
    assert (stop.id, stop.difficulty.value) == ("regularization/stop-early", "medium")
    assert "deck.csv:5: no reference answer" in result.stdout  # the row's own line, after a two-line cell


def test_jsonl_with_reference_field_and_a_topic_for_all(cli, tmp_path):
    rows = [
        {"question": "What is a transformer?", "reference": "A network built on self-attention over tokens."},
        {
            "question": "What is tokenization?",
            "reference": "Splitting text into units a model reads.",
            "topic": "x",
        },
    ]
    source = _write(tmp_path, "deck.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    _imported(cli, str(source), "--topic", "NLP Basics", "-o", str(tmp_path / "nlp.toml"))
    assert [q.id for q in _questions(tmp_path / "nlp.toml")] == [
        "nlp-basics/transformer",
        "nlp-basics/tokenization",
    ]


def test_a_json_list_imports_as_jsonl_does_and_its_errors_name_the_item_s_line(cli, tmp_path):
    """A .json file was read as prose: 'no questions with answers found', 'text outside any question'."""
    rows = [
        {"question": "What is a transformer?", "reference": "A network built on self-attention over tokens."},
        {"question": "What is tokenization?", "reference": "Splitting text into units a model reads."},
    ]
    source = _write(tmp_path, "deck.json", json.dumps(rows, indent=2))
    _imported(cli, str(source), "--topic", "NLP", "-o", str(tmp_path / "nlp.toml"))
    assert [q.id for q in _questions(tmp_path / "nlp.toml")] == ["nlp/transformer", "nlp/tokenization"]
    lines = _write(tmp_path, "lines.json", "\n".join(json.dumps(r) for r in rows))  # JSONL named .json
    _imported(cli, str(lines), "--topic", "NLP", "-o", str(tmp_path / "lines.toml"))
    assert len(_questions(tmp_path / "lines.toml")) == 2
    rows[1]["question"] = 5
    bad = _write(tmp_path, "bad.json", json.dumps(rows, indent=2))
    result = cli("bank", "import", str(bad), "-o", str(tmp_path / "bad.toml"))
    assert result.exit_code == 2 and result.stderr == f"error: {bad}:6: 'question' must be text, not int\n"
    for text, message in [
        ("[" * 100_000, "1: not valid JSON: nested too deeply"),
        ('[{"question": "a?", "reference": "b"}', "1: not valid JSON: the list is not closed with ']'"),
        ('[{"question": "a?", "reference": "b"}] trailing', "1: not valid JSON: text after the list's ']'"),
        ("[1]", "1: expected an object with 'question' and 'reference'"),
    ]:
        broken = _write(tmp_path, "broken.json", text)
        result = cli("bank", "import", str(broken), "-o", str(tmp_path / "broken.toml"))
        assert result.exit_code == 2 and result.stderr == f"error: {broken}:{message}\n"


@pytest.mark.parametrize(
    ("question", "reference", "why"),
    [
        (
            "什么是注意力机制？",
            "注意力机制让模型在每一步关注输入中最相关的部分。",
            "the offline grader reads only Latin",
        ),
        ("What is attention?", "What is attention?", "the reference says nothing beyond the question's own"),
    ],
)
def test_a_reference_no_key_point_can_be_derived_from_says_why(cli, tmp_path, question, reference, why):
    """A Chinese reference was said to repeat the question: derivation reads Latin letters only."""
    source = _write(tmp_path, "q.jsonl", json.dumps({"question": question, "reference": reference}) + "\n")
    result = cli("bank", "import", str(source), "-o", str(tmp_path / "q.toml"))
    assert result.exit_code == 2 and f"key_points: none written, and {why}" in result.stderr.replace(
        "\n", " "
    )


def test_an_import_too_large_for_a_bank_file_is_refused_not_written_unloadable(cli, tmp_path):
    reference = "A long reference answer about gradient flow, normalization and residual paths. " * 3
    rows = "".join(f'What is concept number {i}?,"{reference}{i}"\n' for i in range(5000))
    source = _write(tmp_path, "huge.csv", "question,reference\n" + rows)
    result = cli("bank", "import", str(source), "-o", str(tmp_path / "huge.toml"))
    assert result.exit_code == 2
    assert re.fullmatch(
        r"error: \S+huge\.toml would hold [\d,]+ bytes, more than a bank file may \(1,000,000\): "
        r"split the questions into smaller files \(or by topic\) and import each\n",
        result.stderr,
    )
    assert not (tmp_path / "huge.toml").exists()


def test_one_file_per_topic_without_output(cli, tmp_path, monkeypatch):
    source = _write(tmp_path, "notes.md", MARKDOWN)
    monkeypatch.chdir(tmp_path)
    _imported(cli, str(source))
    assert sorted(p.name for p in tmp_path.glob("*.toml")) == ["evaluation.toml", "optimization.toml"]
    assert len(_questions(tmp_path / "evaluation.toml")) == 3
    assert cli("bank", "validate", str(tmp_path)).exit_code == 0


# --- ids --------------------------------------------------------------------------------------


def test_ids_are_stable_and_collisions_resolved_without_reusing_a_bank_id(cli, tmp_path, builtin_bank):
    source = _write(
        tmp_path,
        "notes.txt",
        """
        Optimization
        Explain Adam.
        Momentum plus per-parameter step sizes from squared gradients.
        What's Adam?
        An optimiser with first and second moment estimates of the gradients.
        """,
    )
    out = tmp_path / "mine.toml"
    _imported(cli, str(source), "-o", str(out))
    first = [q.id for q in _questions(out)]
    assert "optimization/adam" in {q.id for q in builtin_bank.questions}
    assert first == ["optimization/adam-2", "optimization/adam-3"]
    # Imported again over its own file, used as a bank: the same ids, its own not counted as taken.
    _imported(cli, str(source), "-o", str(out), "--force", "--bank", str(out))
    assert [q.id for q in _questions(out)] == first


def test_accented_letters_keep_their_base_letter_in_ids(cli, tmp_path):
    source = _write(
        tmp_path,
        "notes.md",
        """
        ## Régularisation et modèles
        ### Qu'est-ce que la régularisation L2 dans un réseau ?
        Elle pénalise la norme des poids, ce qui réduit la variance du modèle entraîné.
        ### Qu’est-ce que la régularisation L1 ?
        Elle pénalise la somme des valeurs absolues des poids, ce qui en met beaucoup à zéro.
        ### Straße: what does ß do to an id, and 中文?
        Letters with no ASCII form are left out of generated ids, as before.
        """,
    )
    out = tmp_path / "mine.toml"
    _imported(cli, str(source), "-o", str(out))
    ids = [q.id for q in _questions(out)]
    # before: "r-gularisation-et-mod-les/quest-ce-que-la-r": an accented letter split its word
    assert ids[0] == "regularisation-et-modeles/quest-ce-que-la-regularisation"
    assert ids[1] == "regularisation-et-modeles/quest-ce-que-la-regularisation-2"  # ’ read as '
    assert ids[2] == "regularisation-et-modeles/stra-e-id"  # ß and 中 have no ASCII form: left out, as before


def test_an_explicit_id_already_in_the_bank_is_an_error_naming_the_line(cli, tmp_path):
    source = _write(
        tmp_path, "deck.csv", "question,reference,id\nWhat is Adam?,An optimiser.,optimization/adam\n"
    )
    result = cli("bank", "import", str(source), "-o", str(tmp_path / "out.toml"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {source}:2: id 'optimization/adam' is already in the bank"
    assert not (tmp_path / "out.toml").exists()


# --- malformed input, nothing half-written ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.jsonl",
            '{"question": "a?", "reference": "b"}\n{"question": "c?",\n',
            "bad.jsonl:2: not valid JSON",
        ),
        ("bad.jsonl", '["a list"]\n', "bad.jsonl:1: expected an object"),
        ("bad.jsonl", '{"question": 3, "reference": "b"}\n', "bad.jsonl:1: 'question' must be text, not int"),
        ("bad.csv", "prompt,reference\na?,b\n", "bad.csv:1: the header needs a 'question'"),
        (
            "bad.csv",
            "question,answer,difficulty\na?,b,brutal\n",
            "bad.csv:2: difficulty 'brutal' is not easy",
        ),
        (
            "bad.csv",
            'question,answer\na?,b\n"unterminated?,x\n',
            "bad.csv:3: not valid CSV: unexpected end of data",
        ),
        ("deep.jsonl", "[" * 100_000 + "\n", "deep.jsonl:1: not valid JSON: nested too deeply"),
        (  # the reference would have been cut at its first comma, silently
            "comma.csv",
            "question,reference\nWhat is dropout?,It zeroes units, at random.\n",
            "comma.csv:2: 3 cells, but the header names 2 columns: put a cell that holds a comma in double quotes",
        ),
    ],
)
def test_a_malformed_file_is_one_line_naming_file_and_line_and_writes_nothing(
    cli, tmp_path, name, content, message
):
    good = _write(tmp_path, "good.md", "## T\n### What is X?\nA thing with a name.\n")
    bad = tmp_path / name
    bad.write_text(content, encoding="utf-8")
    result = cli("bank", "import", str(good), str(bad), "-o", str(tmp_path / "out.toml"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr.splitlines()[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.toml").exists() and not list(tmp_path.glob("*.tmp"))


def test_a_file_without_questions_says_so_and_what_it_skipped(cli, tmp_path):
    prose = _write(tmp_path, "prose.md", "Just prose.\nMore prose.\n")
    result = cli("bank", "import", str(prose), "-o", str(tmp_path / "out.toml"))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: no questions with answers found in {prose}",
        f"error:   skipped {prose}:1: text outside any question",
    ]
    assert not (tmp_path / "out.toml").exists()


def test_an_existing_file_is_kept_unless_forced_and_no_temporary_file_remains(cli, tmp_path):
    source = _write(tmp_path, "notes.md", "## T\n### What is X?\nA thing with a name.\n")
    out = tmp_path / "out.toml"
    out.write_text("# my reviewed bank\n")
    result = cli("bank", "import", str(source), "-o", str(out))
    assert result.exit_code == 2
    assert f"{out} exists; pass --force to replace it" in result.stderr
    assert out.read_text() == "# my reviewed bank\n"
    missing = cli("bank", "import", str(source), "-o", str(tmp_path / "no" / "such" / "out.toml"))
    assert missing.exit_code == 2 and "cannot write" in missing.stderr
    assert not list(tmp_path.rglob("*.tmp"))


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40))
def test_bank_strings_read_back_as_written(value):
    assert tomllib.loads(f"k = {bank_toml.string(value)}")["k"] == value


# --- derived key points -----------------------------------------------------------------------

PROMPT = "Explain overfitting and underfitting."
REFERENCE = (
    "Overfitting: the model learns noise in the training data. Training loss low, validation loss high. "
    "Underfitting: the model is too simple to capture the patterns. Don't trust accuracy alone."
)


def test_derived_key_points_are_the_references_sentences_without_the_questions_words():
    points = derive.key_points(PROMPT, REFERENCE)
    assert points == derive.key_points(PROMPT, REFERENCE)  # deterministic
    assert [p["point"] for p in points] == [
        "Overfitting: the model learns noise in the training data",
        "Training loss low, validation loss high",
        "Underfitting: the model is too simple to capture the patterns",
        "Don't trust accuracy alone",
    ]
    terms = [t for p in points for t in p["terms"]]
    assert not {"overfitting", "underfitting", "explain"} & set(terms)  # the question's own words
    assert "noise" in points[0]["terms"] and "validation" in points[1]["terms"]
    assert "not trust" in points[3]["terms"]  # what the reference denies stays denied


def test_a_denied_word_of_the_question_is_a_key_point():
    question = "What does a reading of 1.5 tell you about the connection between the terminals?"
    assert derive.key_points(question, "The terminals are not connected.") == [
        {"point": "The terminals are not connected", "terms": ["not connected"]}
    ]
    assert derive.key_points(question, "The terminals are connected.") == []


def test_a_repeated_question_and_answer_is_skipped_but_a_prompt_asked_twice_is_not(cli, tmp_path):
    source = _write(
        tmp_path,
        "deck.csv",
        """
        question,reference
        Explain your reasoning.,The bulb is in a closed path with the battery.
        Explain your reasoning.,The switch opens a gap in the circuit.
        Explain your reasoning.,The bulb is in a closed path with the battery.
        """,
    )
    result = _imported(cli, str(source), "-o", str(tmp_path / "out.toml"))
    assert [q.id for q in _questions(tmp_path / "out.toml")] == ["deck/reasoning", "deck/reasoning-2"]
    assert f"deck.csv:4: the same question and answer as {source}:2" in result.stdout


def test_a_reference_that_only_repeats_the_question_is_reported_and_others_still_are(cli, tmp_path):
    path = _write(
        tmp_path,
        "b.toml",
        """
        topic = "t"
        [[questions]]
        id = "t/echo"
        difficulty = "easy"
        prompt = "What is overfitting?"
        reference = "Overfitting."
        [[questions]]
        id = "t/fine"
        difficulty = "easy"
        prompt = "What is overfitting?"
        reference = "Fitting noise in the training data."
        [[questions]]
        id = "t/bad"
        difficulty = "brutal"
        prompt = "What is bias?"
        reference = "Error from wrong assumptions."
        """,
    )
    result = cli("bank", "validate", str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(
        f"error: {path}: t/echo: key_points: none written, and the reference says nothing"
    )
    assert lines[1].startswith(f"error: {path}: t/bad: difficulty:")


def test_derived_key_points_are_cached_with_the_bank_and_shown_as_derived(cli, tmp_path, home):
    source = _write(tmp_path, "n.md", f"## Basics\n### {PROMPT}\n{REFERENCE}\n")
    out = tmp_path / "basics.toml"
    _imported(cli, str(source), "-o", str(out))
    assert "\n[[questions.key_points]]" not in out.read_text()  # derived as the bank loads, not written
    fresh = bank.load([out], builtin=False, cache_dir=tmp_path / "c").questions[0]
    cached = bank.load([out], builtin=False, cache_dir=tmp_path / "c").questions[0]
    assert cached == fresh and cached.derived == "offline"
    assert cached.content_hash == fresh.content_hash
    shown = cli("bank", "show", "basics/overfitting-underfitting", "--bank", str(out))
    assert "Key points derived offline from the reference" in shown.stdout
    assert (
        json.loads(
            cli("bank", "show", "basics/overfitting-underfitting", "--bank", str(out), "--json").stdout
        )["derived"]
        == "offline"
    )


def test_the_built_in_bank_reads_back_from_the_cache_as_validated(tmp_path, builtin_bank):
    bank.load(cache_dir=tmp_path / "c")
    cached = bank.load(cache_dir=tmp_path / "c").questions
    assert [q.model_dump() for q in cached] == [q.model_dump() for q in builtin_bank.questions]
    assert [q.content_hash for q in cached] == [q.content_hash for q in builtin_bank.questions]


def test_an_imported_question_is_graded_end_to_end(cli, tmp_path):
    source = _write(tmp_path, "n.md", f"## Basics\n### {PROMPT}\n{REFERENCE}\n")
    out = tmp_path / "basics.toml"
    _imported(cli, str(source), "-o", str(out))
    qid = "basics/overfitting-underfitting"

    def score(answer: str) -> float:
        result = cli("practice", qid, "--bank", str(out), "--grader", "offline", "--json", input=answer)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["score"]

    good = (
        "Overfitting is when the model learns the noise in its training data: training loss is low while "
        "validation loss is high. Underfitting is a model too simple to capture the patterns."
    )
    assert score(good) >= 6
    assert score("Overfitting and underfitting are things to explain.") <= 1
    question = bank.load([out], builtin=False).questions[0]
    assert OfflineGrader().grade(question, good).score == score(good)
