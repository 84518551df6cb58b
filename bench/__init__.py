"""Benchmarks of licensesvc (run them as modules, e.g. ``python -m bench.verify_bench``)."""
