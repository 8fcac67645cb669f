"""OCF resource agents shipped with pyheartbeat (built by the lrmd issue)."""
