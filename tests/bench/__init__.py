"""Benchmarks: run with ``python -m tests.bench.<name>``; never collected by pytest."""
