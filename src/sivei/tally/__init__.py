"""Counting: homomorphic aggregation, threshold decryption of the aggregates, results as actas."""
