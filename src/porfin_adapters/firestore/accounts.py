"""Firestore staff accounts and refresh tokens (wired into :class:`FirestoreUnitOfWork`).

Layout::

    {root}clinics/{clinic_id}/staff/{user_id}   the account (+ _sort_micros: created_at)
    {root}staff_emails/{email}                  -> {clinic_id, user_id}: one account per
                                                   e-mail, found at login without the clinic
    {root}refresh_tokens/{token_hash}           the token (field family_id), by its SHA-256
    {root}account_tokens/{token_hash}           invitations and password resets, by SHA-256

Like the other lookup documents, ``staff_emails`` makes concurrent creations of one e-mail
conflict: both transactions read the missing document, the loser is retried and finds the
winner's account. A user never changes clinic, nor a token its hash.
"""

from __future__ import annotations

from google.cloud.firestore import AsyncDocumentReference, FieldFilter

from porfin_adapters.emails import lookup_email
from porfin_adapters.firestore.storage import Doc, _doc_id, _load, _Repo
from porfin_adapters.serialization import to_document, utc_micros
from porfin_core.domain.staff import AccountToken, RefreshToken, StaffUser
from porfin_core.errors import Conflict, NotFound


class _AccountsRepo(_Repo):
    async def _latest(self, *refs: AsyncDocumentReference) -> list[Doc | None]:
        """The documents as this unit of work would leave them: its own writes, else stored."""
        stored = await self._s.get_many(r for r in refs if r.path not in self._s.writes)
        return [self._s.buffered(r) if r.path in self._s.writes else stored[r.path] for r in refs]


class FirestoreStaffUserRepository(_AccountsRepo):
    """Accounts under their clinic, plus ``{root}staff_emails/{email}`` for uniqueness."""

    def _ref(self, clinic_id: str, user_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "staff").document(_doc_id(user_id))

    def _email(self, email: str) -> AsyncDocumentReference:
        return self._s.top("staff_emails").document(_doc_id(email))

    async def get(self, clinic_id: str, user_id: str) -> StaffUser:
        doc = await self._s.get(self._ref(clinic_id, user_id))
        if doc is None:
            raise NotFound("staff user not found", id=user_id)
        return _load(doc, StaffUser)

    async def find_by_email(self, email: str) -> StaffUser | None:
        normalized = lookup_email(email)
        if normalized is None:
            return None
        owner = await self._s.get(self._email(normalized))
        if owner is None:
            return None
        doc = await self._s.get(self._ref(owner["clinic_id"], owner["user_id"]))
        return None if doc is None else _load(doc, StaffUser)

    async def list(self, clinic_id: str) -> list[StaffUser]:
        # Firestore breaks ties on the document id, ascending.
        query = self._s.sub(clinic_id, "staff").order_by("_sort_micros")
        return [_load(s.to_dict() or {}, StaffUser) for s in await self._s.query(query)]

    async def save(self, user: StaffUser) -> None:
        ref, email_ref = self._ref(user.clinic_id, user.id), self._email(user.email)
        owner, previous = await self._latest(email_ref, ref)
        if owner is not None and owner["user_id"] != user.id:
            raise Conflict("e-mail already used by another account", email=user.email)
        if previous is not None and previous["email"] != user.email:
            old_ref = self._email(previous["email"])
            [old_owner] = await self._latest(old_ref)
            if old_owner is not None and old_owner["user_id"] == user.id:
                self._s.delete(old_ref)  # the old address is free again
        self._s.put(email_ref, {"clinic_id": user.clinic_id, "user_id": user.id})
        self._s.put(ref, {**to_document(user), "_sort_micros": utc_micros(user.created_at)})


class FirestoreRefreshTokenRepository(_AccountsRepo):
    """Tokens at ``{root}refresh_tokens/{token_hash}``; a family is a query on ``family_id``."""

    def _ref(self, token_hash: str) -> AsyncDocumentReference:
        return self._s.top("refresh_tokens").document(_doc_id(token_hash))

    async def find_by_hash(self, token_hash: str) -> RefreshToken | None:
        doc = await self._s.get(self._ref(token_hash))
        return None if doc is None else _load(doc, RefreshToken)

    async def family(self, family_id: str) -> list[RefreshToken]:
        # One equality filter: served by the automatic single-field index; a family is a
        # handful of tokens, sorted here.
        query = self._s.top("refresh_tokens").where(
            filter=FieldFilter("family_id", "==", family_id)
        )
        tokens = [_load(s.to_dict() or {}, RefreshToken) for s in await self._s.query(query)]
        return sorted(tokens, key=lambda t: (t.issued_at, t.id))

    async def for_user(self, clinic_id: str, user_id: str) -> list[RefreshToken]:
        query = self._s.top("refresh_tokens").where(filter=FieldFilter("user_id", "==", user_id))
        tokens = [_load(s.to_dict() or {}, RefreshToken) for s in await self._s.query(query)]
        mine = [t for t in tokens if t.clinic_id == clinic_id]
        return sorted(mine, key=lambda t: (t.issued_at, t.id))

    async def save(self, token: RefreshToken) -> None:
        ref = self._ref(token.token_hash)
        [existing] = await self._latest(ref)
        if existing is not None and existing["id"] != token.id:
            raise Conflict("token hash already recorded")
        self._s.put(ref, to_document(token))


class FirestoreAccountTokenRepository(_AccountsRepo):
    """Tokens at ``{root}account_tokens/{token_hash}``; a user's are a query on ``user_id``."""

    def _ref(self, token_hash: str) -> AsyncDocumentReference:
        return self._s.top("account_tokens").document(_doc_id(token_hash))

    async def find_by_hash(self, token_hash: str) -> AccountToken | None:
        doc = await self._s.get(self._ref(token_hash))
        return None if doc is None else _load(doc, AccountToken)

    async def for_user(self, clinic_id: str, user_id: str) -> list[AccountToken]:
        # One equality filter (automatic index); the clinic is checked here.
        query = self._s.top("account_tokens").where(filter=FieldFilter("user_id", "==", user_id))
        tokens = [_load(s.to_dict() or {}, AccountToken) for s in await self._s.query(query)]
        mine = [t for t in tokens if t.clinic_id == clinic_id]
        return sorted(mine, key=lambda t: (t.issued_at, t.id))

    async def save(self, token: AccountToken) -> None:
        ref = self._ref(token.token_hash)
        [existing] = await self._latest(ref)
        if existing is not None and existing["id"] != token.id:
            raise Conflict("token hash already recorded")
        self._s.put(ref, to_document(token))
