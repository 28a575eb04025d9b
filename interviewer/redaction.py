"""Secrets out of what a server sends back, before it is printed, stored or reported.

One redaction for every text from an endpoint (error messages, refusals, the grade a model
returns): a server may echo the request's `Authorization` header anywhere, in any letter case. It
hides the API key and any HTTP credentials (`Bearer …`, `Basic …`). Credentials in the base URL
never get this far: the settings refuse a base URL that holds them.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

MASK = "***"
# A key this short is a placeholder for a local server ("ollama", "lm-studio") and may be an
# ordinary word of feedback too: it is hidden where it stands as a word of its own, not inside words.
SHORT_KEY = 12
_CREDENTIALS = re.compile(r"\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]+=*)", re.I)  # RFC 7235 token68
_WORD = re.compile(r"[A-Za-z][a-z]*")


class Redactor:
    """Hides one endpoint's API key (in any letter case) and any HTTP credentials in text."""

    def __init__(self, api_key: str | None):
        key = (api_key or "").strip()
        pattern = re.escape(key)
        if len(key) < SHORT_KEY:
            pattern = rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])"
        self._key = re.compile(pattern, re.I) if key else None

    def text(self, text: str) -> str:
        if self._key is not None:
            text = self._key.sub(MASK, text)
        return _CREDENTIALS.sub(_masked_credentials, text)

    def data(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, strings) with every string in it redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        return value


def _masked_credentials(match: re.Match[str]) -> str:
    scheme, space, token = match.groups()
    return f"{scheme}{space}{MASK}" if _is_credential(scheme, token) else match.group(0)


def _is_credential(scheme: str, token: str) -> bool:
    """Whether the word after `Bearer` or `Basic` is a credential rather than prose ("a basic idea")."""
    if scheme.lower() == "basic":
        try:
            return b":" in base64.b64decode(token, validate=True)  # Basic is base64 of user:password
        except (binascii.Error, ValueError):
            return False
    return len(token) >= 8 and not _WORD.fullmatch(token)
