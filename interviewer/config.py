"""Where things live, and settings from flags, environment, config file and defaults (in that order)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from interviewer.errors import UsageError

APP = "interviewer"
HOME_ENV = "INTERVIEWER_HOME"
CONFIG_NAME = "config.toml"

DEFAULT_MODEL = "gpt-4.1-mini"  # cheap, fast, and supports strict structured outputs
DEFAULT_TIMEOUT = 60.0  # seconds per request: long enough for a local model, short enough for a terminal
DEFAULT_RETRIES = 2
OPENAI_URL = "https://api.openai.com/v1"
GRADERS = ("auto", "llm", "offline")


def home() -> Path:
    """The data directory: INTERVIEWER_HOME, or the platform's user data directory."""
    override = os.environ.get(HOME_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def config_dir() -> Path:
    override = os.environ.get(HOME_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def cache_dir() -> Path:
    """Disposable data (validated bank files, what each endpoint supports): safe to delete."""
    override = os.environ.get(HOME_ENV, "").strip()
    if override:
        return Path(override).expanduser() / "cache"
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
    seconds = _number(DB_TIMEOUT_ENV, value, "the environment")
    if not seconds <= MAX_DB_TIMEOUT:  # also refuses inf and nan
        raise UsageError(f"{DB_TIMEOUT_ENV}: at most {MAX_DB_TIMEOUT:g} seconds, not {value!r}")
    return seconds


def redact_url(url: str | None) -> str | None:
    """The URL without credentials or query: safe to print, log, store or report."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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
    import tomllib  # here, not at the top: `bank list` and `--help` never read settings

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    for key, value in data.items():
        if key not in _FILE_KEYS:
            raise UsageError(f"{path}: {key}: unknown setting (known: {', '.join(_FILE_KEYS)})")
        if not isinstance(value, _FILE_KEYS[key]) or isinstance(value, bool):
            raise UsageError(f"{path}: {key}: wrong type {type(value).__name__}")
    return data


def _number(name: str, value: Any, origin: str, *, integer: bool = False) -> float:
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} from {origin}: not a number: {value!r}") from None
    if number < 0 or (not integer and number == 0):
        raise UsageError(f"{name} from {origin}: must be positive: {value!r}")
    return number


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
        (
            "environment",
            {
                "grader": env.get("INTERVIEWER_GRADER"),
                "model": env.get("INTERVIEWER_MODEL"),
                "base_url": env.get("OPENAI_BASE_URL"),
                "api_key": env.get("OPENAI_API_KEY"),
                "timeout": env.get("INTERVIEWER_TIMEOUT"),
            },
        ),
        (str(path), _read_file(path)),
    ]
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, layer in layers:
        for key, value in layer.items():
            if key not in values and value not in (None, ""):
                values[key], origin[key] = value, source

    chosen = str(values.get("grader", "auto")).lower()
    if chosen not in GRADERS:
        raise UsageError(f"grader {chosen!r} from {origin.get('grader')}: use one of {', '.join(GRADERS)}")
    url = values.get("base_url")
    if url is not None:
        url = str(url).strip().rstrip("/")
        if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).hostname:
            raise UsageError(
                f"base URL from {origin['base_url']} is not an http(s) URL: {redact_url(url)!r} "
                "(e.g. http://localhost:11434/v1)"
            )
    return Settings(
        grader=chosen,
        model=str(values.get("model", DEFAULT_MODEL)).strip(),
        base_url=url,
        api_key=str(values["api_key"]).strip() if "api_key" in values else None,
        timeout=_number("timeout", values.get("timeout", DEFAULT_TIMEOUT), origin.get("timeout", "default")),
        max_retries=int(
            _number("max_retries", values.get("max_retries", DEFAULT_RETRIES), "config", integer=True)
        ),
        origin=origin,
        config_file=path if path.exists() else None,
    )
