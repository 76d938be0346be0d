"""Redis adapters: state shared by every API instance (rate-limit buckets)."""
