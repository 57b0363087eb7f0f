"""Sanal: citizens' proposals and votes for Mongolia's Local Development Fund."""

__version__ = "0.1.0"
