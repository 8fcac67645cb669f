"""Consensus cluster membership (built by the membership issue)."""
