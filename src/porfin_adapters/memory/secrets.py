"""Secrets kept in a dict: the secret store of tests and demos."""

from __future__ import annotations

from porfin_adapters.keys import is_plain_id
from porfin_core.domain.channel import SecretRef
from porfin_core.errors import Conflict, NotFound, ValidationError

PREFIX = "store:"


class MemorySecretStore:
    """Secret values in a dict keyed by their key; they live as long as the process."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def put(self, key: str, value: str) -> SecretRef:
        if not is_plain_id(key):
            raise ValidationError("a secret key must be a plain identifier", field="key")
        if not value:
            raise ValidationError("a secret cannot be empty", field="value")
        if key in self.values:
            raise Conflict("secret key already used", key=key)
        self.values[key] = value
        return SecretRef(PREFIX + key)

    async def get(self, ref: SecretRef) -> str:
        key = ref.ref.removeprefix(PREFIX) if ref.ref.startswith(PREFIX) else None
        if key is None or key not in self.values:
            raise NotFound("secret not found", ref=ref.ref)
        return self.values[key]

    async def delete(self, ref: SecretRef) -> None:
        if ref.ref.startswith(PREFIX):
            self.values.pop(ref.ref.removeprefix(PREFIX), None)
