"""Where the shipped bank, prompts and labelled calibration answers are.

In the repository they sit at the top level, beside the package; in a built wheel the build
copies them into the package (see `force-include` in pyproject.toml). Both places are looked up
the same way, package first.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name}/ folder is missing from the installation ({_PACKAGE})")


def bank_dir() -> Path:
    return _find("bank")


def prompts_dir() -> Path:
    return _find("prompts")


def calibration_dir() -> Path:
    """Labelled answers that measure a grader; they live inside the package, so a wheel has them."""
    return _PACKAGE / "calibration"
