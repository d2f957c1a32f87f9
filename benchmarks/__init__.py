"""Performance benchmarks (pytest-benchmark): ``python -m pytest benchmarks``.

Kept out of the test suite (``testpaths = tests``); ``tests/test_benchmarks_smoke.py`` runs every
benchmarked workload once on the test group so that these files cannot rot unnoticed.
"""
