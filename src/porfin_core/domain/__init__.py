"""Entities, value objects and domain events."""
