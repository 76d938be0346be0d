"""Use cases: one per module, each an async callable owning its transaction."""
