"""Tooling for development, demonstrations and measurement, never part of the product.

Demo data (``seed_demo``), synthetic cases in bulk (``generate_cases``, ``devtools.generator``), the
benchmark commands (``benchmark_*``) and the load test (``devtools/loadtest/``). Settings install this
app outside production when it is present; the production image leaves it out (.dockerignore). The
domain apps never import it.
"""
