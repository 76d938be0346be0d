"""Porfin's pure domain: entities, use cases and the ports adapters implement.

Nothing in this package performs I/O, reads the clock or makes random ids; those come in
through the ports in :mod:`porfin_core.ports`.
"""
