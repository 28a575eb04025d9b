"""Every --json output carries `schema_version` and has exactly the fields, of the types, that the
README's "JSON output" section documents: the tables are read from the README and checked against
the real command's output, so the two cannot drift apart."""

import json
import re

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "list": list,
    "null": type(None),
}
GRADE_FIELDS = "(the grade's fields)"


def _tables() -> dict[str, dict[str, set[str]]]:
    """Each table of the "JSON output" section: its title, and field path -> allowed types."""
    section = README.split("\n## JSON output\n", 1)[1].split("\n## ", 1)[0]
    tables = {}
    for block in section.split("\n### ")[1:]:
        title, _, body = block.partition("\n")
        fields = {}
        for line in body.splitlines():
            if not line.startswith("| ") or line.startswith(("| field ", "|---")):
                continue
            path, types = (cell.strip() for cell in line.strip("|").split("|")[:2])
            fields[path.replace("`", "")] = set(types.split(" or ")) if types else set()
        tables[title.strip("`")] = fields
    return tables


TABLES = _tables()


def _documented(title: str) -> dict[str, set[str]]:
    """A table's fields, with "(the grade's fields)" rows replaced by the grade table's, there."""
    fields: dict[str, set[str]] = {}
    for path, types in TABLES[title].items():
        if path.endswith(GRADE_FIELDS):
            prefix = path.removesuffix(GRADE_FIELDS).strip()
            fields |= {(f"{prefix}.{p}" if prefix else p): t for p, t in TABLES["A grade"].items()}
        else:
            fields[path] = types
    return fields


def _values(data, path: str):
    """Every value at a path: `a.b`, `a[]` (each item), `a{}` (each value); None for an absent key."""
    values = [data]
    for step in re.findall(r"[^.\[\]{}]+|\[\]|\{\}", path):
        if step == "[]":
            values = [item for v in values for item in v]
        elif step == "{}":
            values = [item for v in values for item in v.values()]
        else:  # a null object (`usage` of an offline grade) has nothing inside to check
            values = [v.get(step, _ABSENT) for v in values if isinstance(v, dict)]
    return values


_ABSENT = object()


def _type_ok(value, types: set[str]) -> bool:
    if value is _ABSENT:
        return "absent" in types
    if isinstance(value, bool):  # a bool is an int to Python, not to JSON
        return "boolean" in types
    return any(isinstance(value, TYPES[t]) for t in types - {"absent"})


def check(data: dict, title: str) -> None:
    fields = _documented(title)
    assert data["schema_version"] == 2 and next(iter(data)) == "schema_version"
    for path, types in fields.items():
        values = _values(data, path)
        if "." not in path and "[]" not in path and "{}" not in path:
            assert values, f"{title}: no {path}"
        for value in values:
            assert _type_ok(value, types), f"{title}: {path} is {value!r}, documented as {types}"
    # No field the README does not name, in every object whose fields it lists.
    parents = {""} | {p.rsplit(".", 1)[0] for p in fields if "." in p}
    for parent in parents:
        children = {p[len(parent) + 1 :] if parent else p for p in fields if p.rpartition(".")[0] == parent}
        for obj in _values(data, parent) if parent else [data]:
            if isinstance(obj, dict):
                assert set(obj) <= children, (
                    f"{title}: {parent or 'top'} has undocumented {set(obj) - children}"
                )


def _json(cli, *args, input=None, code=0):
    result = cli(*args, "--json", input=input)
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


ADAM = (
    "Adam keeps moving averages of the gradient and of its square, corrects their bias, and divides "
    "the step by the root of the second: every parameter gets its own step size."
)


WRONG = "Accuracy is always the best metric, whatever the data."  # an error the graders flag


def test_practice_json(cli):
    doc = _json(cli, "practice", "evaluation/accuracy-f1-auc", input=WRONG)
    check(doc, "practice --json")
    assert doc["errors"] and doc["key_points"]
    check(_json(cli, "practice", "--due", "--rate", "hard", input=WRONG), "practice --json")


def test_mock_json(cli, builtin_bank):
    first, _, third = builtin_bank.interview(3, (), None, 1)  # the questions `--seed 1` draws
    answers = f"{first.reference}\n---\n\n---\nNot sure."  # strong, skipped, weak
    doc = _json(cli, "mock", "-n", "3", "--seed", "1", input=answers)
    check(doc, "mock --json")
    assert doc["strongest"] and doc["gaps"] and doc["topics"]


def test_history_json(cli):
    cli("practice", "optimization/adam", input=ADAM)
    check(_json(cli, "history"), "history --json")


def test_stats_json(cli):
    cli("practice", "regularization/dropout", input="No idea.")
    cli("practice", "regularization/dropout", input="Dropout zeroes random units during training.")
    check(_json(cli, "stats"), "stats --json")


def test_grade_json(cli):
    cli("practice", "evaluation/accuracy-f1-auc", input=WRONG)
    doc = _json(cli, "grade", "latest", "--all")
    check(doc, "grade --json")
    assert doc["graded"][0]["errors"]


def test_bank_list_json(cli):
    check(_json(cli, "bank", "list"), "bank list --json")


def test_bank_show_json(cli):
    check(_json(cli, "bank", "show", "data/missing-values"), "bank show --json")


def test_paths_json(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_BANK", str(tmp_path))
    check(_json(cli, "paths"), "paths --json")


def test_doctor_json(cli, monkeypatch, respx_mock):
    import httpx
    from llm_fakes import BASE, completion, reply

    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    listed = {"object": "list", "data": [{"id": "gpt-4.1-mini", "object": "model"}]}
    respx_mock.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=listed))
    respx_mock.post(f"{BASE}/chat/completions").mock(return_value=completion(reply()))
    # The reply grades another question (6 key points for the check's 5): the grading check fails,
    # and the JSON says so with exit 1, as the text does.
    doc = _json(cli, "doctor", code=1)
    check(doc, "doctor --json")
    assert doc["grader"] == "llm" and not doc["ok"]
    assert [(c["name"], c["ok"]) for c in doc["checks"]][:2] == [("endpoint", True), ("grading", False)]
    offline = _json(cli, "doctor", "--grader", "offline")
    assert (offline["grader"], offline["checks"], offline["ok"]) == ("offline", [], True)


def test_calibrate_json(cli):
    check(
        _json(cli, "calibrate", "--grader", "offline", "--set", "unseen", "--repeat", "2"), "calibrate --json"
    )


def test_recover_json(cli, home):
    assert _json(cli, "recover") == {"schema_version": 2, "recovered": []}
    from interviewer import recovery

    folder = recovery.folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    cli("practice", "optimization/adam", input=ADAM)
    history = _json(cli, "history")["attempts"][0]
    unsaved = recovery.Unsaved(
        "practice",
        "offline",
        None,
        history["question"],
        "A kept answer.",
        history["started_at"],
        history["submitted_at"],
    )
    recovery.keep(home, [unsaved], OSError("disk full"))
    check(_json(cli, "recover"), "recover --json")


def test_the_json_report_has_the_documented_fields(cli):
    cli("practice", "optimization/adam", input=ADAM)
    doc = json.loads(cli("report", "latest", "--format", "json").stdout)
    table = README.split("\n## The JSON report\n", 1)[1].split("\n## ", 1)[0]
    top = set()
    for cell in re.findall(r"^\| (`[^|]+) \|", table, re.M):
        top |= {name for name in re.findall(r"`([a-z_]+)(?:\[\])?`", cell)}
    assert set(doc) == top and doc["schema_version"] == 2


@pytest.mark.parametrize("title", sorted(TABLES))
def test_every_documented_output_is_tested(title):
    tested = {
        name.removeprefix("test_").removesuffix("_json") for name in globals() if name.startswith("test_")
    }
    if title != "A grade":
        assert title.removesuffix(" --json").replace(" ", "_") in tested


def test_plan_json(cli):
    cli("practice", "optimization/adam", input=ADAM)
    check(_json(cli, "plan", "--until", "3w"), "plan --json")
    check(_json(cli, "plan", "--until", "none"), "plan --json")


def test_review_json(cli):
    cli("practice", "optimization/adam", input=ADAM)
    check(_json(cli, "review"), "review --json")
