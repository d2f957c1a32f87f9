"""Cryptographic core: the group, canonical encodings, ElGamal, proofs, DKG and decryption.

This layer knows nothing about ballots, manifests or records.
"""
