"""Password hashing, access tokens and secrets."""
