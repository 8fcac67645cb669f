"""Cluster resource manager (built by a later issue)."""
