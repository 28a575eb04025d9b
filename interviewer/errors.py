"""The project's exceptions; the CLI maps each to a one-line message and an exit code."""

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2  # bad input: a flag, an id, a bank file
    HANGUP = 129  # 128 + the signal's number, as shells report a process a signal ended
    INTERRUPTED = 130
    TERMINATED = 143


class InterviewerError(Exception):
    """Something the user can act on; its message is shown as is."""

    exit_status = ExitStatus.ERROR


class UsageError(InterviewerError):
    exit_status = ExitStatus.USAGE


class BankError(InterviewerError):
    """A bank file is missing or invalid; the message holds one line per problem."""

    exit_status = ExitStatus.USAGE


class StoreError(InterviewerError):
    pass


class Stopped(InterviewerError):
    """A signal (SIGTERM, SIGHUP) stopped the command, after what was typed was saved."""

    def __init__(self, signal: int, what_was_kept: str):
        from signal import Signals

        super().__init__(f"stopped by {Signals(signal).name}: {what_was_kept}")
        self.exit_status = ExitStatus(128 + signal)


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGTERM, SIGHUP) at a question in the terminal (yes or no, a rating): handled
    there as Ctrl-C is, what is stored closed as after Ctrl-C; the command exits 128 + its number."""

    def __init__(self, signal: int):
        super().__init__(signal)
        self.signal = signal
