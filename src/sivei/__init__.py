"""SIVEI: an open, verifiable internet-voting engine."""

__version__ = "0.1.0"
