"""Policy engine (built by the pengine issue)."""
