"""Ports: the protocols adapters implement. Every method is async and documents what it raises."""
