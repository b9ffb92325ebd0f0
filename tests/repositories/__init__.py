"""Tests of the repositories, on SQLite and PostgreSQL."""
