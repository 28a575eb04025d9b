"""The answer editor, driven through prompt_toolkit's pipe input as a terminal would drive it."""

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from interviewer import ui


def _type(keys: str, initial: str = "") -> str:
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        return ui.edit_answer(initial=initial, input=pipe, output=DummyOutput())


def test_enter_makes_a_new_line_and_ctrl_d_submits():
    assert _type("Dropout zeroes units\rat random.\x04") == "Dropout zeroes units\nat random."


def test_escape_enter_submits():
    assert _type("one line\x1b\r") == "one line"


def test_try_again_starts_from_the_previous_answer():
    assert _type(" More.\x04", initial="First try.") == "First try. More."


def test_ctrl_c_keeps_what_was_typed():
    with pytest.raises(ui.AnswerCancelled) as cancelled:
        _type("half an answer\x03")
    assert cancelled.value.text == "half an answer"
