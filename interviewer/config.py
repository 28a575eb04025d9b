"""Where things live, and settings from flags, environment, config file and defaults."""

from __future__ import annotations

import os
from pathlib import Path

APP = "interviewer"
HOME_ENV = "INTERVIEWER_HOME"


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
    """Disposable data (validated bank files): deleting it only costs a little speed."""
    override = os.environ.get(HOME_ENV, "").strip()
    if override:
        return Path(override).expanduser() / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP, appauthor=False)
