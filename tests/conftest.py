# openai >= 3 sends requests through httpx2, and respx patches httpx: alias the two before anything
# imports httpx, so respx sees what the real openai client sends (see ../shared/ECOSYSTEM.md).
import httpx2

httpx2.alias_httpx()

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from interviewer import bank as bank_module  # noqa: E402
from interviewer.cli import app  # noqa: E402

_OUTSIDE_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "INTERVIEWER_MODEL",
    "INTERVIEWER_BANK",
    "FORCE_COLOR",
    "PY_COLORS",
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own home, no colour, a fixed width, and nothing from the developer's env."""
    home = tmp_path / "home"
    monkeypatch.setenv("INTERVIEWER_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TERMINAL_WIDTH", "120")
    for name in _OUTSIDE_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def home(_isolated: Path) -> Path:
    return _isolated


@pytest.fixture
def cli():
    """Run the real CLI in-process: cli("practice", "--json", input="...")."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def builtin_bank() -> bank_module.Bank:
    return bank_module.load()


# The topics of the source document the bank started from (../shared/seeds/), in its order.
SOURCE_TOPICS = (
    "fundamentals",
    "optimization",
    "regularization",
    "neural-networks",
    "architectures",
    "evaluation",
    "transfer-learning",
    "practical",
)


@pytest.fixture(scope="session")
def source_questions(builtin_bank) -> list:
    """The 34 questions of the source document, which the requirement sets cover one by one."""
    return [q for q in builtin_bank.questions if q.topic in SOURCE_TOPICS]


@pytest.fixture
def respx_mock():
    import respx

    with respx.mock(assert_all_called=False) as mock:
        yield mock


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def terminal(cli, monkeypatch):
    """Run the CLI as in a terminal whose keyboard sends `keys` (all typed ahead):
    terminal("answer\x04", "practice", ...)."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from interviewer import cli as cli_module

    monkeypatch.setattr(cli_module, "_interactive", lambda: True)

    def run(keys: str, *args: str):
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
            pipe.send_text(keys)
            return cli(*args)

    return run
