"""Text we did not write (a bank's, the candidate's, a server's), made safe to show on a terminal.

A terminal obeys the control characters it is sent: ESC starts sequences that clear the screen
(ESC[2J), write the clipboard (OSC 52) or plant a hyperlink (OSC 8); BEL, backspace and carriage
return rewrite what is shown, and the C1 range (U+0080-U+009F) holds one-character forms of the same
sequences; the bidirectional overrides (U+202E ...) reorder the rest of the line. Such text is shown
with each control character replaced by a visible stand-in, so the reader sees what is there and
the terminal obeys none of it. What is stored is never changed: this is for the way out only.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Every C0 control but tab and newline, DEL, every C1 control, and the bidirectional embeddings,
# overrides and isolates, which reorder what follows them on the line ("Trojan Source"): a quote
# could show its words, and the grader's text after it, in another order than they are.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_DEL_PICTURE = "\u2421"  # ␡


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode's control pictures: ␛ for ESC, ␇ for BEL, ␍ for CR
    if code == 0x7F:
        return _DEL_PICTURE
    if code > 0xFF:
        return f"\\u{code:04x}"  # a bidirectional control
    return f"\\x{code:02x}"  # C1 controls have no pictures; no angle brackets, an HTML report holds it


def visible(text: str) -> str:
    """`text` with its control characters (all but tab and newline) shown as visible stand-ins.

    A Windows line end is a line end, not a stray carriage return.
    """
    return _CONTROL.sub(_picture, text.replace("\r\n", "\n"))


def json_text(data: Any) -> str:
    """`data` as indented JSON, every control character in it escaped.

    `json.dumps` escapes C0 controls itself but, with `ensure_ascii=False`, leaves DEL and C1 raw;
    escaping them as \\uXXXX keeps the data exact for a program and inert on a terminal. They occur
    only inside strings, where the escape means the same character.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def counted(n: int, word: str) -> str:
    """A count and its noun: 1 question, 2 questions."""
    return f"{n} {word}{'' if n == 1 else 's'}"
