"""No password survives the net under every dialog and log line, however it was typed."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from app.core.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cannot connect to postgresql+asyncpg://me:hunter2@127.0.0.1:5432/shop",
            "cannot connect to postgresql+asyncpg://me:***@127.0.0.1:5432/shop",
        ),
        # Typed unencoded, a password may hold "@", "#", "%" and "/" (DESIGN.md, Known traps).
        (
            "url='postgresql://me:Secret#99%x@127.0.0.1/db'",
            "url='postgresql://me:***@127.0.0.1/db'",
        ),
        ("postgresql://me:p@ss/w@rd@host/db?x=1", "postgresql://me:***@host/db?x=1"),
        ("dsn: host=db password=hunter2 user=me", "dsn: host=db password=*** user=me"),
        ("{'password': 'hunter2', 'user': 'me'}", "{'password': '***', 'user': 'me'}"),
        ('connect(password="hunter2")', 'connect(password="***")'),
        # In a URL's query string, whatever else the query holds and however the key is cased.
        (
            "postgresql://me@host/shop?password=hunter2&sslmode=require",
            "postgresql://me@host/shop?password=***&sslmode=require",
        ),
        (
            "postgresql://me@host/shop?ssl=1&PASSWORD=hunter2",
            "postgresql://me@host/shop?ssl=1&PASSWORD=***",
        ),
        # Names that end in password: libpq's key passphrase, its environment variable.
        (
            "postgresql://me@host/shop?sslpassword=hunter2",
            "postgresql://me@host/shop?sslpassword=***",
        ),
        ("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"),
        ("db_password: hunter2", "db_password: ***"),
    ],
)
def test_passwords_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://me@127.0.0.1/shop",
        "postgresql://me:***@127.0.0.1/shop",
        "sqlite+aiosqlite:///C:/Users/me/records.db",
        "https://example.org:8443/path",
        'password authentication failed for user "me"',
    ],
)
def test_text_without_a_password_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_an_sqlalchemy_url_rendered_with_its_password_is_masked() -> None:
    url = URL.create("postgresql+asyncpg", "me", "s3cr@t#/%", "127.0.0.1", 5432, "shop")
    rendered = url.render_as_string(hide_password=False)
    assert "s3cr" not in redact(rendered)
    assert redact(rendered).endswith("@127.0.0.1:5432/shop")
