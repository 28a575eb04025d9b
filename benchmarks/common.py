"""What the benchmark scripts share: how to run the installed command, and time it."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def interviewer_command() -> list[str]:
    """The `interviewer` script of this Python's environment, else the one on PATH, else the module."""
    script = Path(sys.executable).parent / "interviewer"
    if script.exists():
        return [str(script)]
    found = shutil.which("interviewer")
    return [found] if found else [sys.executable, "-m", "interviewer"]


def installed_wheel_command() -> list[str]:
    """`interviewer` from this checkout built as a wheel and installed in a new virtual environment,
    as `pip install .` gives a user (with the bank index the wheel's build hook makes)."""
    work = Path(tempfile.mkdtemp(prefix="interviewer-wheel-"))
    root = Path(__file__).resolve().parent.parent
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(root)],
        **quiet,
    )
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], **quiet)
    wheel = next((work / "dist").glob("*.whl"))
    subprocess.run([str(work / "venv" / "bin" / "pip"), "install", "-q", str(wheel)], **quiet)
    return [str(work / "venv" / "bin" / "interviewer")]


def children_cpu() -> float:
    """CPU seconds (user and system) used so far by the processes this one waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds a whole process takes, output discarded."""
    started = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started
