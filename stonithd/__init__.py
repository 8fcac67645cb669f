"""Fencing daemon (built by a later issue)."""
