"""Throughput of each reference store against its raw backend client: ``python -m benchmarks``."""
