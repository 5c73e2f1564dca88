"""Benchmarks (not timed tests): ``python -m bench`` runs them all, ``python -m bench NAME`` one.

See bench/README.md.
"""
