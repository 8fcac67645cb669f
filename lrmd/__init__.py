"""Local resource manager (built by the lrmd issue)."""
