"""Passwords out of text before anyone reads it: a dialog, a log line, a traceback.

Two nets under the rule that no message is ever built from a password. The passwords of
the databases opened in this process (``hide``) are blanked out wherever they appear — even
where a URL typed with an unencoded ``@`` was split so that part of the password looks like
a host. And any ``scheme://user:password@``, ``?password=…`` or ``password=…`` in text we did
not write (a driver's exception quoting a connect string) is masked by its shape.
"""

from __future__ import annotations

import re
from urllib.parse import quote

MASK = "***"
# Shorter secrets are not blanked out: that would garble every word holding those letters.
MIN_HIDDEN_LENGTH = 3

_hidden: set[str] = set()

# scheme://user:password@ — the password runs to the last "@" of the word, because a
# password typed unencoded may itself hold "@", "#", "%" or "/" (DESIGN.md, Known traps).
_URL_CREDENTIALS = re.compile(
    r"(?P<prefix>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'\"]*:)[^\s'\"]*@", re.ASCII
)
# password=secret in a libpq DSN, a URL's query string or keyword arguments; password: secret
# in a mapping. Any name ending so: sslpassword (libpq's key passphrase), PGPASSWORD, db_pwd.
_KEYWORD = re.compile(
    r"(?P<prefix>\b\w*(?:password|passwd|pwd)['\"]?\s*[=:]\s*)"
    r"(?P<quote>['\"]?)[^\s'\",;&)}]+(?P=quote)",
    re.IGNORECASE,
)


def hide(secret: str | None) -> None:
    """From now on, write ``secret`` (as typed or percent-encoded) as *** in all text that
    goes through ``redact``."""
    if secret is None or len(secret) < MIN_HIDDEN_LENGTH:
        return
    _hidden.update({secret, quote(secret, safe=""), quote(secret)})


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with the hidden secrets and ``secrets`` blanked out, and the password of
    every URL and ``password=`` setting masked."""
    extra = {secret for secret in secrets if secret and len(secret) >= MIN_HIDDEN_LENGTH}
    for secret in sorted(_hidden | extra, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_CREDENTIALS.sub(lambda match: f"{match['prefix']}{MASK}@", text)
    return _KEYWORD.sub(
        lambda match: f"{match['prefix']}{match['quote']}{MASK}{match['quote']}", text
    )
