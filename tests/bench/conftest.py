# Benchmarks report figures and are run with `make bench` (python -m tests.bench.backlog);
# pytest must never collect them, whatever their files come to be called.
collect_ignore_glob = ["*.py"]
