"""Help that reads like a well-made CLI's: `--topic TOPIC`, `--json`, `ID`.

Typer 0.29 prints a type after every parameter whatever its metavar says: `--json <bool>` (a flag
takes no value), `question_id <str>`. These command and group classes show an option's metavar
and nothing after a flag or an argument, whose name column already holds its metavar.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


def _no_type(ctx: Any) -> None:
    return None


def _clean(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""  # `display_type_rich` shows a metavar as it is
        elif isinstance(param, TyperArgument):
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    return params


class Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _clean(super().get_params(ctx))


class Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _clean(super().get_params(ctx))
