"""The project's exceptions; the CLI maps each to a one-line message and an exit code."""

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2  # bad input: a flag, an id, a bank file
    INTERRUPTED = 130


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
