"""Passwords become Argon2id hashes (argon2-cffi's defaults, RFC 9106's second choice of
parameters): the text is never stored, and the hash is never shown."""

from __future__ import annotations

from app.services.validation import checked_password


def hash_password(password: str) -> str:
    """The hash of ``password`` (tens of milliseconds of CPU: call it off the UI thread)."""
    from argon2 import PasswordHasher  # its CFFI module loads only when a password is set

    return PasswordHasher().hash(checked_password(password))


def password_matches(hashed: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
