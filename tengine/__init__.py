"""Transition engine (built by a later issue)."""
