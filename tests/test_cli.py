"""The command line as a whole: help, docs that cannot drift, start-up imports."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from interviewer import __version__
from interviewer.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text()


def _commands(group=None, prefix=""):
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_has_help_and_is_in_the_readme():
    names = []
    for name, command in _commands():
        names.append(name)
        assert command.help and len(command.help) > 20, name
        assert f"interviewer {name}" in README or f"`{name} " in README, f"{name} is not in the README"
    assert {"practice", "history", "grade", "bank list", "bank show", "bank validate"} <= set(names)


def test_help_and_version(cli):
    assert cli("--help").exit_code == 0
    assert cli("--version").stdout.strip() == f"interviewer {__version__}"
    for name, _ in _commands():
        assert cli(*name.split(), "--help").exit_code == 0, name


def test_help_shows_metavars_and_no_types():
    """`--topic TOPIC`, a bare `--json`, `ID`: no `<bool>` or `<str>` after a parameter."""
    for name, _ in [("", None), *_commands()]:
        shown = CliRunner().invoke(app, [*name.split(), "--help"]).stdout
        assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", shown), (name, shown)
    mock = CliRunner().invoke(app, ["mock", "--help"]).stdout
    assert re.search(r"--topic +-t +TOPIC ", mock) and re.search(r"--json +Print JSON", mock)
    assert re.search(r"\* +ID +The question's id", CliRunner().invoke(app, ["bank", "show", "--help"]).stdout)


def test_importing_the_cli_leaves_heavy_modules_out():
    code = "import sys, interviewer.cli; print(sorted(m for m in ('openai', 'pydantic', 'prompt_toolkit', 'jinja2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_installed_command_runs_as_a_subprocess(tmp_path):
    env = {"INTERVIEWER_HOME": str(tmp_path), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "interviewer", "practice", "evaluation/confusion-matrix", "--json"],
        input="A table of actual versus predicted classes.",
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert '"question_id": "evaluation/confusion-matrix"' in done.stdout
    assert (tmp_path / "interviewer.db").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [("report", "latest"), ("history", "--json"), ("stats",), ("bank", "list")])
def test_a_full_disk_on_standard_output_is_one_error_line(tmp_path, args):
    env = {"INTERVIEWER_HOME": str(tmp_path), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "interviewer", "practice", "optimization/adam"],
        input="Adam keeps moving averages of the gradient and its square.",
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "interviewer", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    assert done.returncode == 1
    assert done.stderr == "error: cannot write to standard output: No space left on device\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("practice", "--bogus"), "error: No such option: --bogus (see `interviewer practice --help`)"),
        (("mock", "--per-question", "inf"), "error: Invalid value for '--per-question': "),
        (("history", "--limit", "99999999999999999999"), "error: Invalid value for '--limit' / '-n': "),
        (("bank", "show"), "error: Missing argument 'ID'. (see `interviewer bank show --help`)"),
        (("nonsense",), "error: No such command 'nonsense'."),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(cli, home, args, message):
    result = cli(*args, input="An answer.")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and result.stderr.startswith(message)


def test_paths_shows_where_things_live(cli, home, tmp_path):
    import json

    where = json.loads(cli("paths", "--json", env={"INTERVIEWER_BANK": str(tmp_path)}).stdout)
    assert where["home"] == str(home)
    assert where["database"] == str(home / "interviewer.db")
    assert where["extra_banks"] == [str(tmp_path)]
    assert Path(where["builtin_bank"], "01-fundamentals.toml").is_file()


def _installed(*args, **env):
    return subprocess.run(
        [str(Path(sys.executable).parent / "interviewer"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def test_shell_completion_offers_commands_question_ids_and_topics():
    shown = _installed("--show-completion", "bash", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert shown.returncode == 0 and "_interviewer_completion" in shown.stdout
    ids = _installed(
        _INTERVIEWER_COMPLETE="complete_bash",
        COMP_WORDS="interviewer bank show optimization/ad",
        COMP_CWORD="3",
    )
    assert ids.stdout.split() == ["optimization/adam"]
    topics = _installed(
        _INTERVIEWER_COMPLETE="complete_bash", COMP_WORDS="interviewer mock -t stat", COMP_CWORD="3"
    )
    assert topics.stdout.split() == ["statistics"]
