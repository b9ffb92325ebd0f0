"""Benchmarks, run on demand (``uv run python -m tests.perf browse --engine sqlite``).

Not tests: nothing here is collected by pytest, and nothing asserts on time. Each benchmark
prints one JSON object on stdout; progress goes to stderr.
"""
