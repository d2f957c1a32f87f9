"""Ballots: the manifest, voters' credentials, ballot encryption, challenges and validation."""
