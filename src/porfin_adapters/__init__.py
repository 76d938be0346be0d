"""Adapters: Porfin's ports implemented with real technology, and the container that
assembles them from settings."""
