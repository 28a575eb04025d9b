"""`bank import --with-llm` and `bank enrich`: key points proposed by a model over the real openai
client (respx), checked against the reference before they are written."""

import json
import textwrap
import tomllib

import pytest
from llm_fakes import BASE, KEY, completion, sent

from interviewer import bank

NOTES = """
## Regularization
### What does dropout do?
During training it randomly zeroes activations, so units cannot co-adapt. At inference all units are
used and activations are scaled to match.
"""

GOOD = {
    "key_points": [
        {
            "point": "Randomly zeroes activations during training",
            "weight": 3,
            "terms": ["randomly | at random | stochastically", "zeroes | drops | switches off"],
        },
        {"point": "Units cannot co-adapt", "weight": 2, "terms": ["co-adapt | rely on each other"]},
        {
            "point": "All units are used at inference, scaled",
            "weight": 1,
            "terms": ["inference | test time", "scaled"],
        },
    ],
    "misconceptions": [
        {
            "point": "Dropout is also applied at inference",
            "terms": ["inference | test time", "drop | zero"],
            "why": "At inference all units are used.",
        },
        {
            "point": "Dropout drops training examples (confused with subsampling)",
            "terms": ["drops | removes", "training examples | samples"],
            "why": "It zeroes units inside the network, not examples.",
            "fatal": True,
        },
    ],
}
# Points and terms the reference does not hold: made up by the model.
UNSUPPORTED = {
    "key_points": [
        {
            "point": "Dropout is a Bayesian approximation of model averaging",
            "weight": 2,
            "terms": ["bayesian"],
        },
        {"point": "It randomly zeroes activations", "weight": 1, "terms": ["gaussian noise"]},
    ],
    "misconceptions": [],
}


@pytest.fixture
def endpoint(monkeypatch, respx_mock):
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return respx_mock.post(f"{BASE}/chat/completions")


@pytest.fixture
def notes(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(textwrap.dedent(NOTES).lstrip())
    return path


def _import(cli, notes, out):
    return cli("bank", "import", str(notes), "-o", str(out), "--with-llm", "--model", "m-test")


def test_a_valid_proposal_is_written_for_review_and_grades(cli, endpoint, notes, tmp_path):
    endpoint.mock(return_value=completion(json.dumps(GOOD)))
    out = tmp_path / "out.toml"
    result = _import(cli, notes, out)
    assert result.exit_code == 0, result.stderr
    question = bank.load([out], builtin=False).questions[0]
    assert question.derived == "m-test"
    assert [kp.weight for kp in question.key_points] == [3, 2, 1]
    assert question.key_points[0].terms == [
        "randomly | at random | stochastically",
        "zeroes | drops | switches off",
    ]
    # The reference says units cannot co-adapt: the term is read as it says it.
    assert question.key_points[1].terms == ["not co-adapt | not rely on each other"]
    assert question.misconceptions[0].why == "At inference all units are used."
    # The model's judgement that a claim gets the asked thing wrong is kept for review, as written.
    assert [m.fatal for m in question.misconceptions] == [False, True]
    assert out.read_text().count("fatal = true") == 1
    assert 'derived = "m-test"' in out.read_text()
    shown = cli("bank", "show", question.id, "--bank", str(out))
    assert "Key points proposed by m-test at import: review them." in shown.stdout
    # The request: the reference fenced as data, a schema for the proposal, the key never in the body.
    body = sent(endpoint)
    user = body["messages"][1]["content"]
    assert "<<<REFERENCE ANSWER" in user and "randomly zeroes activations" in user
    assert body["response_format"]["json_schema"]["name"] == "bank_key_points"
    # Strict structured output wants every field required; a reply that leaves `fatal` out (the
    # first misconception above) is still read, as not fatal.
    schema = body["response_format"]["json_schema"]["schema"]
    assert all(set(m["required"]) == set(m["properties"]) for m in [schema, *schema["$defs"].values()])
    assert KEY not in json.dumps(body)
    graded = cli(
        "practice",
        question.id,
        "--bank",
        str(out),
        "--grader",
        "offline",
        "--json",
        input="In training, dropout randomly drops activations so units cannot co-adapt; at test time all units are used, scaled.",
    )
    assert json.loads(graded.stdout)["score"] >= 8


def test_an_unsupported_proposal_is_repaired_once_then_the_question_keeps_offline_points(
    cli, endpoint, notes, tmp_path
):
    endpoint.mock(return_value=completion(json.dumps(UNSUPPORTED)))
    out = tmp_path / "out.toml"
    result = _import(cli, notes, out)
    assert result.exit_code == 0, result.stderr
    assert len(endpoint.calls) == 2  # one repair, told what was wrong
    assert "no key point is supported by the reference" in sent(endpoint)["messages"][-1]["content"]
    assert "regularization/dropout-2: keeps its offline key points" in result.stdout
    question = bank.load([out], builtin=False).questions[0]
    assert question.derived == "offline"  # no key point was written: they are derived as it loads


def test_an_invalid_reply_is_repaired_and_what_the_reference_lacks_is_dropped(cli, endpoint, notes, tmp_path):
    mixed = {**GOOD, "key_points": [*GOOD["key_points"], UNSUPPORTED["key_points"][0]]}
    endpoint.mock(
        side_effect=[completion("Sure! Here are the key points: none"), completion(json.dumps(mixed))]
    )
    out = tmp_path / "out.toml"
    result = _import(cli, notes, out)
    assert result.exit_code == 0, result.stderr
    assert "the reply holds no JSON object" in sent(endpoint)["messages"][-1]["content"]
    points = [kp.point for kp in bank.load([out], builtin=False).questions[0].key_points]
    assert len(points) == 3 and not any("Bayesian" in p for p in points)
    assert "dropped key point 'Dropout is a Bayesian approximation" in result.stdout


def test_a_reply_of_the_wrong_shape_twice_keeps_the_offline_points(cli, endpoint, notes, tmp_path):
    endpoint.mock(return_value=completion(json.dumps({"key_points": [{"point": "x"}], "misconceptions": []})))
    result = _import(cli, notes, tmp_path / "out.toml")
    assert result.exit_code == 0, result.stderr
    assert (
        "keeps its offline key points: the model's proposal was not usable, even after a repair"
        in result.stdout
    )
    assert "does not match the schema at key_points.0.weight" in result.stdout


def test_an_endpoint_that_fails_writes_nothing(cli, endpoint, notes, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path / "home"))
    endpoint.mock(
        return_value=completion("", usage=(1, 1, 0)).__class__(401, json={"error": {"message": "bad key"}})
    )
    out = tmp_path / "out.toml"
    result = _import(cli, notes, out)
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"error: {BASE} refused the API key (401): check OPENAI_API_KEY; nothing was written"
    )
    assert not out.exists()


def test_with_llm_and_no_endpoint_is_a_usage_error(cli, notes, tmp_path):
    result = _import(cli, notes, tmp_path / "out.toml")
    assert result.exit_code == 2
    assert "asking an LLM needs an endpoint" in result.stderr


def test_bank_enrich_rewrites_a_file_keeping_authored_questions(cli, endpoint, notes, tmp_path):
    out = tmp_path / "out.toml"
    assert cli("bank", "import", str(notes), "-o", str(out)).exit_code == 0
    with out.open("a") as f:
        f.write(
            textwrap.dedent(
                """
                [[questions]]
                id = "regularization/mine"
                difficulty = "hard"
                prompt = "What is weight decay?"
                reference = "An L2 penalty on the weights."

                [[questions.key_points]]
                point = "An L2 penalty"
                terms = ["l2 | penalty"]
                """
            )
        )
    endpoint.mock(return_value=completion(json.dumps(GOOD)))
    result = cli("bank", "enrich", str(out), "--model", "m-test")
    assert result.exit_code == 0, result.stderr
    assert len(endpoint.calls) == 1  # the authored question is not sent
    data = tomllib.loads(out.read_text())
    assert [q.get("derived") for q in data["questions"]] == ["m-test", None]
    assert data["questions"][1]["key_points"] == [{"point": "An L2 penalty", "terms": ["l2 | penalty"]}]
    assert cli("bank", "validate", str(out)).exit_code == 0
