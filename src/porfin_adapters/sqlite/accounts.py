"""SQLite staff accounts and refresh tokens (wired into :class:`SqliteUnitOfWork`).

Tables ``staff_users`` and ``refresh_tokens`` (migration ``0003_accounts.sql``) and
``account_tokens`` (``0005_account_tokens.sql``). Reads and writes
follow :mod:`porfin_adapters.sqlite.storage`: rows read remember their version, a lookup that
found nothing is checked again at commit, and the e-mail's and the token hash's uniqueness is
checked by the writer. A user never changes clinic, nor a token its hash or family: those
columns are written on insert only.
"""

from __future__ import annotations

import sqlite3
from typing import TypeVar

from porfin_adapters.emails import lookup_email
from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite.storage import _dump, _load, _Repo
from porfin_core.domain.staff import AccountToken, RefreshToken, StaffUser
from porfin_core.errors import Conflict

T = TypeVar("T")

_USER_KEYS = frozenset({"clinic_id", "created_micros"})
_TOKEN_KEYS = frozenset({"family_id", "token_hash", "user_id"})
_ACCOUNT_TOKEN_KEYS = frozenset({"clinic_id", "user_id", "token_hash"})


class _AccountsRepo(_Repo):
    def _rows(self, table: str, sql: str, params: tuple[str, ...], cls: type[T]) -> list[T]:
        rows = self._conn.execute(sql, params).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded(table, row_id, version)
        return [_load(doc, cls) for _, _, doc in rows]


class SqliteStaffUserRepository(_AccountsRepo):
    async def get(self, clinic_id: str, user_id: str) -> StaffUser:
        return self._scoped("staff_users", StaffUser, clinic_id, user_id, "staff user")

    async def find_by_email(self, email: str) -> StaffUser | None:
        normalized = lookup_email(email)
        if normalized is None:
            return None
        user = self._row(
            "staff_users",
            "SELECT id, version, doc FROM staff_users WHERE email = ?",
            (normalized,),
            StaffUser,
        )
        if user is None:
            self._tracker.still_absent("SELECT 1 FROM staff_users WHERE email = ?", (normalized,))
        return user

    async def list(self, clinic_id: str) -> list[StaffUser]:
        return self._rows(
            "staff_users",
            "SELECT id, version, doc FROM staff_users WHERE clinic_id = ?"
            " ORDER BY created_micros, id",
            (clinic_id,),
            StaffUser,
        )

    async def save(self, user: StaffUser) -> None:
        email, user_id = user.email, user.id

        def email_is_free(conn: sqlite3.Connection) -> None:
            taken = conn.execute(
                "SELECT 1 FROM staff_users WHERE email = ? AND id != ?", (email, user_id)
            ).fetchone()
            if taken is not None:
                raise Conflict("e-mail already used by another account", email=email)

        self._tracker.writes.append(email_is_free)
        self._tracker.upsert(
            "staff_users",
            user_id,
            {
                "id": user_id,
                "clinic_id": user.clinic_id,
                "email": email,
                "created_micros": utc_micros(user.created_at),
                "doc": _dump(user),
            },
            immutable=_USER_KEYS,
        )


class SqliteRefreshTokenRepository(_AccountsRepo):
    async def find_by_hash(self, token_hash: str) -> RefreshToken | None:
        token = self._row(
            "refresh_tokens",
            "SELECT id, version, doc FROM refresh_tokens WHERE token_hash = ?",
            (token_hash,),
            RefreshToken,
        )
        if token is None:
            self._tracker.still_absent(
                "SELECT 1 FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
            )
        return token

    async def family(self, family_id: str) -> list[RefreshToken]:
        tokens = self._rows(
            "refresh_tokens",
            "SELECT id, version, doc FROM refresh_tokens WHERE family_id = ?",
            (family_id,),
            RefreshToken,
        )
        return sorted(tokens, key=lambda t: (t.issued_at, t.id))

    async def for_user(self, clinic_id: str, user_id: str) -> list[RefreshToken]:
        tokens = self._rows(
            "refresh_tokens",
            "SELECT id, version, doc FROM refresh_tokens WHERE user_id = ?",
            (user_id,),
            RefreshToken,
        )
        mine = [t for t in tokens if t.clinic_id == clinic_id]
        return sorted(mine, key=lambda t: (t.issued_at, t.id))

    async def save(self, token: RefreshToken) -> None:
        # A second token with the same hash breaks the UNIQUE rule: Conflict.
        self._tracker.upsert(
            "refresh_tokens",
            token.id,
            {
                "id": token.id,
                "family_id": token.family_id,
                "user_id": token.user_id,
                "token_hash": token.token_hash,
                "doc": _dump(token),
            },
            immutable=_TOKEN_KEYS,
        )


class SqliteAccountTokenRepository(_AccountsRepo):
    async def find_by_hash(self, token_hash: str) -> AccountToken | None:
        token = self._row(
            "account_tokens",
            "SELECT id, version, doc FROM account_tokens WHERE token_hash = ?",
            (token_hash,),
            AccountToken,
        )
        if token is None:
            self._tracker.still_absent(
                "SELECT 1 FROM account_tokens WHERE token_hash = ?", (token_hash,)
            )
        return token

    async def for_user(self, clinic_id: str, user_id: str) -> list[AccountToken]:
        tokens = self._rows(
            "account_tokens",
            "SELECT id, version, doc FROM account_tokens WHERE clinic_id = ? AND user_id = ?",
            (clinic_id, user_id),
            AccountToken,
        )
        return sorted(tokens, key=lambda t: (t.issued_at, t.id))

    async def save(self, token: AccountToken) -> None:
        self._tracker.upsert(
            "account_tokens",
            token.id,
            {
                "id": token.id,
                "clinic_id": token.clinic_id,
                "user_id": token.user_id,
                "token_hash": token.token_hash,
                "doc": _dump(token),
            },
            immutable=_ACCOUNT_TOKEN_KEYS,
        )
