"""Where things live, and settings from flags, environment, config file and defaults (in that order)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from interviewer.errors import UsageError

APP = "interviewer"
HOME_ENV = "INTERVIEWER_HOME"
CONFIG_NAME = "config.toml"

DEFAULT_MODEL = "gpt-4.1-mini"  # cheap, fast, and supports strict structured outputs
DEFAULT_TIMEOUT = 60.0  # seconds per request: long enough for a local model, short enough for a terminal
DEFAULT_RETRIES = 2
OPENAI_URL = "https://api.openai.com/v1"
GRADERS = ("auto", "llm", "offline")


def _home_override() -> Path | None:
    """INTERVIEWER_HOME when it is set. Set but blank is refused: it is a script's empty variable,
    and using the default folder instead would mix a test run into the user's own history."""
    override = os.environ.get(HOME_ENV)
    if override is None:
        return None
    if not override.strip():
        raise UsageError(f"{HOME_ENV} is set but blank: name a folder, or unset it to use the default one")
    return Path(override.strip()).expanduser()


def home() -> Path:
    """The data directory: INTERVIEWER_HOME, or the platform's user data directory."""
    override = _home_override()
    if override:
        return override
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def config_dir() -> Path:
    override = _home_override()
    if override:
        return override
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def cache_dir() -> Path:
    """Disposable data (validated bank files, what each endpoint supports): safe to delete."""
    override = _home_override()
    if override:
        return override / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP, appauthor=False)


DB_TIMEOUT_ENV = "INTERVIEWER_DB_TIMEOUT"
MAX_DB_TIMEOUT = 3600.0


def db_timeout() -> float | None:
    """Seconds to wait for another interviewer process to release the database (None: the store's
    default), from INTERVIEWER_DB_TIMEOUT."""
    value = os.environ.get(DB_TIMEOUT_ENV, "").strip()
    if not value:
        return None
    return _number(DB_TIMEOUT_ENV, value, "the environment", most=MAX_DB_TIMEOUT)


def redact_url(url: str | None) -> str | None:
    """The URL without credentials, query or fragment: safe to print, log, store or report.

    Plain text surgery, not parsing, so that it never fails: everything before the last `@` of the
    part after the scheme counts as credentials, since a password may hold `/`, `?` or `#`.
    """
    if not url:
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    rest = re.split(r"[?#]", rest.rpartition("@")[2], maxsplit=1)[0]
    return f"{scheme}{separator}{rest}"


@dataclass(frozen=True)
class Settings:
    grader: str = "auto"
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_RETRIES
    origin: dict[str, str] = field(default_factory=dict, compare=False)  # setting -> where it came from
    config_file: Path | None = None

    @property
    def endpoint(self) -> str:
        return self.base_url or OPENAI_URL

    @property
    def shown_endpoint(self) -> str:
        return redact_url(self.endpoint) or ""

    @property
    def endpoint_configured(self) -> bool:
        """A key, or a base URL of a server that needs none."""
        return bool(self.api_key) or bool(self.base_url)

    @property
    def key_for_client(self) -> str:
        # Local and self-hosted servers accept any key; the client insists on one.
        return self.api_key or "not-needed"

    def choose_grader(self) -> str:
        """`llm` or `offline`, from `auto` by whether an endpoint is configured."""
        if self.grader == "auto":
            return "llm" if self.endpoint_configured else "offline"
        if self.grader == "llm" and not self.endpoint_configured:
            raise UsageError(
                "--grader llm needs an endpoint: set OPENAI_API_KEY, or pass --base-url "
                "(e.g. http://localhost:11434/v1 for Ollama)"
            )
        return self.grader

    def why_grader(self) -> str:
        """A short reason for the grader `choose_grader` picks, to tell the user."""
        chosen = self.choose_grader()
        if chosen == "offline":
            if self.grader == "offline":
                return f"offline grader (chosen by {self.origin.get('grader', 'flag')})"
            return "offline grader (no OPENAI_API_KEY or --base-url set; answers are graded by an offline estimate)"
        return f"LLM grader: {self.model} at {self.shown_endpoint}"


_FILE_KEYS: dict[str, type | tuple[type, ...]] = {
    "grader": str,
    "model": str,
    "base_url": str,
    "api_key": str,
    "timeout": (int, float),
    "max_retries": int,
}


def _read_file(path: Path) -> dict[str, Any]:
    from interviewer.inputs import read_toml

    if not path.exists():
        return {}
    data = read_toml(path)
    for key, value in data.items():
        if key not in _FILE_KEYS:
            raise UsageError(f"{path}: {key}: unknown setting (known: {', '.join(_FILE_KEYS)})")
        if not isinstance(value, _FILE_KEYS[key]) or isinstance(value, bool):
            raise UsageError(f"{path}: {key}: wrong type {type(value).__name__}")
    return data


# Past these a value is a slip (or `inf`, `nan`, `1e309`), not a choice: every grade would wait
# forever, or fail on a timeout the HTTP client cannot use.
MAX_TIMEOUT = 3600.0
MAX_RETRIES = 10


def _number(name: str, value: Any, origin: str, *, most: float, integer: bool = False) -> float:
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} from {origin}: not a number: {value!r}") from None
    if not 0 <= number <= most or (not integer and number == 0):  # NaN fails every comparison
        lowest = "at least 0" if integer else "more than 0"
        raise UsageError(f"{name} from {origin}: must be {lowest} and at most {most:g}: {value!r}")
    return number


def _base_url(text: str, origin: str) -> str:
    """The base URL, checked: a URL the client can send requests to, without credentials in it."""
    url = text.strip().rstrip("/")
    # Any `@` after the scheme may end credentials, whatever `/`, `?` or `#` the password holds;
    # the URL itself is not echoed, so that no password is printed.
    if "@" in url.partition("://")[2]:
        raise UsageError(
            f"base URL from {origin} holds credentials (user:password@), which interviewer does not send: "
            "give the API key in OPENAI_API_KEY or api_key in the config file (write an @ in a path as %40)"
        )
    problem = _url_problem(url)
    if problem:
        raise UsageError(
            f"base URL from {origin} is not an http(s) URL: {redact_url(url)!r}: {problem} "
            "(e.g. http://localhost:11434/v1)"
        )
    return url


def _url_problem(url: str) -> str | None:
    """What makes `url` one the client cannot send a request to, if anything."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL"
        return "the brackets around an IPv6 address do not match"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "it needs http:// or https:// and a host"
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number
        port = 0
    if port == 0:
        return "its port must be a number from 1 to 65535"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it holds a space or a control character"
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        return "its host name has an empty or too long part"
    return None


# The environment variable of each setting.
_ENV_NAMES = {
    "grader": "INTERVIEWER_GRADER",
    "model": "INTERVIEWER_MODEL",
    "base_url": "OPENAI_BASE_URL",
    "api_key": "OPENAI_API_KEY",
    "timeout": "INTERVIEWER_TIMEOUT",
}


def load(
    *,
    grader: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Settings from flags (the arguments) > environment > config file > defaults."""
    env = os.environ if environ is None else environ
    path = config_dir() / CONFIG_NAME
    layers: list[tuple[str, dict[str, Any]]] = [
        ("flag", {"grader": grader, "model": model, "base_url": base_url}),
        ("environment", {key: env.get(name) for key, name in _ENV_NAMES.items()}),
        (str(path), _read_file(path)),
    ]
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, layer in layers:
        for key, value in layer.items():
            if key not in values and value not in (None, ""):
                values[key] = value
                # "timeout from environment variable INTERVIEWER_TIMEOUT": the variable to change
                origin[key] = f"environment variable {_ENV_NAMES[key]}" if source == "environment" else source

    chosen = str(values.get("grader", "auto")).lower()
    if chosen not in GRADERS:
        raise UsageError(f"grader {chosen!r} from {origin.get('grader')}: use one of {', '.join(GRADERS)}")
    url = values.get("base_url")
    return Settings(
        grader=chosen,
        model=str(values.get("model", DEFAULT_MODEL)).strip(),
        base_url=None if url is None else _base_url(str(url), origin["base_url"]),
        api_key=str(values["api_key"]).strip() if "api_key" in values else None,
        timeout=_number(
            "timeout",
            values.get("timeout", DEFAULT_TIMEOUT),
            origin.get("timeout", "default"),
            most=MAX_TIMEOUT,
        ),
        max_retries=int(
            _number(
                "max_retries",
                values.get("max_retries", DEFAULT_RETRIES),
                "config",
                most=MAX_RETRIES,
                integer=True,
            )
        ),
        origin=origin,
        config_file=path if path.exists() else None,
    )
