"""The secretary's terminal inbox (Textual)."""
