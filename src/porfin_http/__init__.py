"""The HTTP shell: Porfin's REST API and webhooks (Litestar)."""
