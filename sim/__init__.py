"""Deterministic whole-cluster simulator (grown by the membership issue)."""
