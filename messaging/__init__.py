"""The heartbeat messaging layer: media, authentication, liveness, reliable cluster messages."""
