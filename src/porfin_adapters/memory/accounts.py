"""In-memory staff accounts and refresh tokens (wired into :class:`MemoryUnitOfWork`).

Uniqueness (an e-mail per account, a hash per token) is checked against the committed state and
the unit of work's own buffered writes; write units of work run one at a time, so nothing else
can slip in between.
"""

from __future__ import annotations

from porfin_adapters.emails import lookup_email
from porfin_adapters.memory.storage import Doc, _Repos
from porfin_adapters.serialization import from_document, to_document
from porfin_core.domain.staff import AccountToken, RefreshToken, StaffUser
from porfin_core.errors import Conflict, NotFound


class _Unique(_Repos):
    def _owner(self, table: str, field: str, value: str) -> str | None:
        """Id of the document whose ``field`` is ``value``, as of this unit of work's commit."""
        committed = self._table(table)
        pending = {key: doc for (name, key), doc in self._writes.items() if name == table}
        for key in {*committed, *pending}:
            doc = pending[key] if key in pending else committed[key]
            if doc is not None and doc[field] == value:
                return key
        return None

    def _committed_owner(self, table: str, field: str, value: str) -> Doc | None:
        for doc in self._table(table).values():
            if doc[field] == value:
                return doc
        return None


class MemoryStaffUserRepository(_Unique):
    async def get(self, clinic_id: str, user_id: str) -> StaffUser:
        doc = self._get("staff_users", user_id, "staff user")
        if doc["clinic_id"] != clinic_id:
            raise NotFound("staff user not found", id=user_id)
        return from_document(doc, StaffUser)

    async def find_by_email(self, email: str) -> StaffUser | None:
        normalized = lookup_email(email)
        if normalized is None:
            return None
        doc = self._committed_owner("staff_users", "email", normalized)
        return None if doc is None else from_document(doc, StaffUser)

    async def list(self, clinic_id: str) -> list[StaffUser]:
        users = [
            from_document(d, StaffUser)
            for d in self._table("staff_users").values()
            if d["clinic_id"] == clinic_id
        ]
        return sorted(users, key=lambda u: (u.created_at, u.id))

    async def save(self, user: StaffUser) -> None:
        owner = self._owner("staff_users", "email", user.email)
        if owner is not None and owner != user.id:
            raise Conflict("e-mail already used by another account", email=user.email)
        self._put("staff_users", user.id, to_document(user))


class MemoryRefreshTokenRepository(_Unique):
    async def find_by_hash(self, token_hash: str) -> RefreshToken | None:
        doc = self._committed_owner("refresh_tokens", "token_hash", token_hash)
        return None if doc is None else from_document(doc, RefreshToken)

    async def family(self, family_id: str) -> list[RefreshToken]:
        tokens = [
            from_document(d, RefreshToken)
            for d in self._table("refresh_tokens").values()
            if d["family_id"] == family_id
        ]
        return sorted(tokens, key=lambda t: (t.issued_at, t.id))

    async def for_user(self, clinic_id: str, user_id: str) -> list[RefreshToken]:
        tokens = [
            from_document(d, RefreshToken)
            for d in self._table("refresh_tokens").values()
            if d["clinic_id"] == clinic_id and d["user_id"] == user_id
        ]
        return sorted(tokens, key=lambda t: (t.issued_at, t.id))

    async def save(self, token: RefreshToken) -> None:
        owner = self._owner("refresh_tokens", "token_hash", token.token_hash)
        if owner is not None and owner != token.id:
            raise Conflict("token hash already recorded")
        self._put("refresh_tokens", token.id, to_document(token))


class MemoryAccountTokenRepository(_Unique):
    async def find_by_hash(self, token_hash: str) -> AccountToken | None:
        doc = self._committed_owner("account_tokens", "token_hash", token_hash)
        return None if doc is None else from_document(doc, AccountToken)

    async def for_user(self, clinic_id: str, user_id: str) -> list[AccountToken]:
        tokens = [
            from_document(d, AccountToken)
            for d in self._table("account_tokens").values()
            if d["clinic_id"] == clinic_id and d["user_id"] == user_id
        ]
        return sorted(tokens, key=lambda t: (t.issued_at, t.id))

    async def save(self, token: AccountToken) -> None:
        owner = self._owner("account_tokens", "token_hash", token.token_hash)
        if owner is not None and owner != token.id:
            raise Conflict("token hash already recorded")
        self._put("account_tokens", token.id, to_document(token))
