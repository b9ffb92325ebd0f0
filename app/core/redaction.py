"""Passwords out of text before anyone reads it: a dialog, a log line, a traceback.

The message of an exception from deep inside a driver may quote the URL it was given; the
places that build messages should never put a password there, and this is the net below
them for the text of errors we did not write.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@ — the password runs to the last "@" of the word, because a
# password typed unencoded may itself hold "@", "#", "%" or "/" (DESIGN.md, Known traps).
_URL_CREDENTIALS = re.compile(
    r"(?P<prefix>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'\"]*:)[^\s'\"]*@", re.ASCII
)
# password=secret in a libpq DSN or keyword arguments; password: secret in a mapping.
_KEYWORD = re.compile(
    r"(?P<prefix>\b(?:password|passwd|pwd)['\"]?\s*[=:]\s*)"
    r"(?P<quote>['\"]?)[^\s'\",;&)}]+(?P=quote)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with the password of every URL and ``password=`` setting masked."""
    text = _URL_CREDENTIALS.sub(lambda match: f"{match['prefix']}{MASK}@", text)
    return _KEYWORD.sub(
        lambda match: f"{match['prefix']}{match['quote']}{MASK}{match['quote']}", text
    )
