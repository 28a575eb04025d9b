"""Random bytes, control characters and markup fed to the bank loader and the config loader, through
the real CLI: every outcome is success or one `error:` line per problem with exit 2, never a
traceback. Deterministic (derandomized) and bounded, so it runs the same on every machine."""

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    derandomize=True,
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID_BANK = '''topic = "fuzz"

[[questions]]
id = "fuzz/one"
difficulty = "easy"
prompt = "Why does dropout help?"
reference = """Units cannot co-adapt; the net behaves like an ensemble."""

[[questions.key_points]]
point = "Prevents co-adaptation"
weight = 2
terms = ["co-adapt | co-adaptation", "unit | units"]

[[questions.misconceptions]]
point = "Dropout is used at inference"
terms = ["inference"]
'''

# TOML's syntax, the controls and escapes a terminal obeys, rich markup, and odd Unicode.
HOSTILE = st.lists(
    st.one_of(
        st.sampled_from(list("[]{}=.,\"'#\\\n\t -+_:0123456789eEinfatrux")),
        st.sampled_from(["[/]", "[red]", "[link=http://x]", "\x1b[2J", "\x1b]52;c;eA==\x07", "\r", "\x00"]),
        st.sampled_from(["\ufeff", "\u2028", "\ud7ff", "é", "🚀", "\u202e", '"""', "'''"]),
        st.characters(codec="utf-8"),
    ),
    max_size=80,
).map("".join)
DEEP = b"x = " + b"[" * 5_000 + b"]" * 5_000  # found by hand: a RecursionError in tomllib
RAW = st.one_of(st.binary(max_size=300), HOSTILE.map(lambda text: text.encode("utf-8")))


@st.composite
def mutated_bank(draw: st.DrawFn) -> bytes:
    """A valid bank with a stretch replaced by hostile text: it gets past the parser more often."""
    start = draw(st.integers(0, len(VALID_BANK)))
    end = draw(st.integers(start, min(len(VALID_BANK), start + 40)))
    return (VALID_BANK[:start] + draw(HOSTILE) + VALID_BANK[end:]).encode("utf-8")


def _only_errors(result) -> None:
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("error: ") for line in lines), result.stderr


@FUZZ
@given(data=st.one_of(RAW, mutated_bank()))
@example(data=DEEP)
def test_the_bank_loader_gives_success_or_error_lines(cli, tmp_path, data):
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    result = cli("bank", "validate", str(path))
    _only_errors(result)
    assert result.exit_code == 2 or result.stdout.startswith("ok: ")


SETTING = st.sampled_from(["grader", "model", "base_url", "api_key", "timeout", "max_retries", "x"])
VALUE = st.one_of(
    st.sampled_from(["inf", "nan", "-inf", "1e309", "-1", "0", "true", "[]", "{}", "'llm'", '"[/]"']),
    st.integers().map(str),
    st.floats().map(repr),
    HOSTILE.map(lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'),
)
CONFIG = st.one_of(
    RAW,
    st.lists(st.tuples(SETTING, VALUE), max_size=6).map(
        lambda pairs: "\n".join(f"{key} = {value}" for key, value in pairs).encode("utf-8")
    ),
)


@FUZZ
@given(data=CONFIG)
@example(data=DEEP)
def test_the_config_loader_gives_success_or_one_error_line(cli, home, monkeypatch, data):
    monkeypatch.setenv("INTERVIEWER_GRADER", "offline")  # whatever the file says, no request leaves
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_bytes(data)
    _only_errors(cli("doctor"))
