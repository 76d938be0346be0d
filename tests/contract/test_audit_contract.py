"""The audit log contract: every storage keeps one append-only hash chain per clinic, and
``verify_chain`` finds any record modified, deleted or reordered behind the storage's back."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest

from porfin_core.domain.audit import (
    GENESIS_HASH,
    Actor,
    ActorKind,
    AuditEntry,
    AuditRecord,
    BreakKind,
    record_hash,
    verify_chain,
)
from porfin_core.errors import ValidationError
from porfin_core.ports.audit import AuditQuery
from porfin_core.use_cases._transaction import transact

ADMIN = Actor(id="admin", kind=ActorKind.API_TOKEN, source="203.0.113.7", request_id="req-1")


def _entry(clock, n: int = 0, clinic_id: str = "clinic1", **changes) -> AuditEntry:
    fields = {
        "clinic_id": clinic_id,
        "at": clock.now() + timedelta(seconds=n),
        "action": "chat.read",
        "resource_type": "chat",
        "resource_id": f"chat{n}",
        "details": {"n": str(n)},
    }
    fields.update(changes)
    actor = fields.pop("actor", ADMIN)
    return AuditEntry.of(actor, **fields)


async def _append(backend, *entries: AuditEntry) -> None:
    async with backend.uow_factory() as uow:
        for entry in entries:
            await uow.audit.append(entry)
        await uow.commit()


async def _records(backend, clinic_id: str = "clinic1") -> list[AuditRecord]:
    async with backend.uow_factory(read_only=True) as uow:
        return [record async for record in uow.audit.iterate(clinic_id)]


async def _verify(backend, clinic_id: str = "clinic1"):
    async with backend.uow_factory(read_only=True) as uow:
        head = await uow.audit.head(clinic_id)
        records = [record async for record in uow.audit.iterate(clinic_id)]
    return verify_chain(clinic_id, records, head)


async def test_records_are_chained_per_clinic_in_order(backend, clock):
    await _append(backend, _entry(clock, 1), _entry(clock, 2))
    await _append(backend, _entry(clock, 1, clinic_id="clinic2"))
    await _append(backend, _entry(clock, 3))

    records = await _records(backend)
    assert [r.seq for r in records] == [1, 2, 3]
    assert [r.resource_id for r in records] == ["chat1", "chat2", "chat3"]
    assert records[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert all(record_hash(r) == r.hash for r in records)
    first = records[0]
    assert first.at == clock.now() + timedelta(seconds=1)
    assert (first.actor_id, first.actor_kind, first.source, first.request_id) == (
        "admin",
        "api_token",
        "203.0.113.7",
        "req-1",
    )
    assert first.details == {"n": "1"}

    other = await _records(backend, "clinic2")
    assert [r.seq for r in other] == [1]
    assert other[0].prev_hash == GENESIS_HASH
    async with backend.uow_factory(read_only=True) as uow:
        head = await uow.audit.head("clinic1")
        assert head is not None and (head.seq, head.hash) == (3, records[-1].hash)
        assert await uow.audit.head("nobody") is None
        assert [r async for r in uow.audit.iterate("nobody")] == []
    report = await _verify(backend)
    assert report.ok and report.records == 3 and report.last_seq == 3


async def test_uncommitted_appends_are_discarded(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.audit.append(_entry(clock, 1))
    with pytest.raises(RuntimeError):
        async with backend.uow_factory() as uow:
            await uow.audit.append(_entry(clock, 2))
            raise RuntimeError("boom")
    assert await _records(backend) == []
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.audit.head("clinic1") is None


async def test_an_append_commits_with_the_change_it_describes(backend, clock):
    from tests import builders

    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
        await uow.audit.append(_entry(clock, 1, action="clinic.create"))
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert [c.id for c in await uow.clinics.list()] == ["clinic1"]
    assert [r.action for r in await _records(backend)] == ["clinic.create"]


async def test_the_list_is_newest_first_filtered_and_paged(backend, clock):
    alice = Actor(id="alice", kind=ActorKind.USER, source="198.51.100.1")
    await _append(
        backend,
        _entry(clock, 1),
        _entry(clock, 2, actor=alice, action="chat.update"),
        _entry(clock, 3, actor=alice, resource_id="chat1"),
        _entry(clock, 4, resource_type="message", resource_id="msg1", action="message.send"),
        _entry(clock, 5),
    )
    await _append(backend, _entry(clock, 6, clinic_id="clinic2"))

    async def seqs(**filters) -> list[int]:
        async with backend.uow_factory(read_only=True) as uow:
            page = await uow.audit.list(AuditQuery(clinic_id="clinic1", **filters))
        return [r.seq for r in page.items]

    assert await seqs() == [5, 4, 3, 2, 1]
    assert await seqs(actor_id="alice") == [3, 2]
    assert await seqs(action="chat.read") == [5, 3, 1]
    assert await seqs(actor_id="alice", action="chat.read") == [3]
    assert await seqs(resource_type="chat", resource_id="chat1") == [3, 1]
    assert await seqs(resource_type="message") == [4]
    assert await seqs(resource_id="nope") == []
    assert await seqs(since=clock.now() + timedelta(seconds=2)) == [5, 4, 3, 2]
    assert await seqs(until=clock.now() + timedelta(seconds=2)) == [1]
    assert await seqs(
        since=clock.now() + timedelta(seconds=2),
        until=clock.now() + timedelta(seconds=4),
        action="chat.read",
    ) == [3]

    seen, cursor = [], None
    while True:
        async with backend.uow_factory(read_only=True) as uow:
            page = await uow.audit.list(AuditQuery(clinic_id="clinic1", limit=2, cursor=cursor))
        seen += [r.seq for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]

    async with backend.uow_factory(read_only=True) as uow:
        page = await uow.audit.list(AuditQuery(clinic_id="clinic2"))
        assert [(r.clinic_id, r.seq) for r in page.items] == [("clinic2", 1)]


async def test_records_at_the_same_instant_page_by_seq(backend, clock):
    await _append(backend, *(_entry(clock, 0, resource_id=f"chat{n}") for n in range(5)))
    seen, cursor = [], None
    while True:
        async with backend.uow_factory(read_only=True) as uow:
            page = await uow.audit.list(AuditQuery(clinic_id="clinic1", limit=2, cursor=cursor))
        seen += [r.seq for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("cursor", ["garbage", "WyJhIiwxXQ", "WzEsMiwzXQ"])
async def test_a_bad_cursor_is_a_validation_error(backend, cursor):
    async with backend.uow_factory(read_only=True) as uow:
        with pytest.raises(ValidationError):
            await uow.audit.list(AuditQuery(clinic_id="clinic1", cursor=cursor))


@pytest.mark.parametrize("limit", [0, 201])
async def test_a_bad_page_size_is_a_validation_error(backend, limit):
    async with backend.uow_factory(read_only=True) as uow:
        with pytest.raises(ValidationError):
            await uow.audit.list(AuditQuery(clinic_id="clinic1", limit=limit))


async def _append_concurrently(factories, clock, count: int) -> None:
    async def one(n: int) -> None:
        async def work(uow) -> None:
            await uow.audit.append(_entry(clock, n))
            await uow.commit()

        await transact(factories[n % len(factories)], work)

    await asyncio.gather(*(one(n) for n in range(count)))


async def test_concurrent_appends_never_fork_the_chain(backend, clock):
    await _append_concurrently([backend.uow_factory], clock, 20)
    records = await _records(backend)
    assert [r.seq for r in records] == list(range(1, 21))
    assert sorted(r.resource_id for r in records) == sorted(f"chat{n}" for n in range(20))
    report = await _verify(backend)
    assert report.ok and report.records == 20


async def test_concurrent_appends_from_two_processes_never_fork_the_chain(backend, clock):
    # Another connection (SQLite) or client (Firestore), as another process would have; the
    # memory store lives in one process only.
    second = (await backend.reopen())[0] if backend.reopen is not None else backend.uow_factory
    await _append_concurrently([backend.uow_factory, second], clock, 20)
    report = await _verify(backend)
    assert report.ok and report.records == 20 and report.last_seq == 20


# -- tampering behind the storage's back ---------------------------------------------------


class Tamperer:
    """Changes stored audit records the way someone with access to the storage could."""

    def __init__(self, backend) -> None:
        self.backend = backend

    async def modify(self, seq: int, **fields) -> None:
        await getattr(self, f"_modify_{self.backend.name}")(seq, fields)

    async def delete(self, seq: int) -> None:
        await getattr(self, f"_delete_{self.backend.name}")(seq)

    async def swap(self, a: int, b: int) -> None:
        await getattr(self, f"_swap_{self.backend.name}")(a, b)

    # memory: the store's tables
    def _table(self):
        return self.backend.uow_factory.store.tables["audit"]

    async def _modify_memory(self, seq, fields) -> None:
        self._table()[f"clinic1|{seq:012d}"].update(fields)

    async def _delete_memory(self, seq) -> None:
        del self._table()[f"clinic1|{seq:012d}"]

    async def _swap_memory(self, a, b) -> None:
        table = self._table()
        ka, kb = f"clinic1|{a:012d}", f"clinic1|{b:012d}"
        table[ka], table[kb] = table[kb], table[ka]

    # SQLite: a raw connection, after dropping the triggers
    def _sql(self, *statements: tuple[str, tuple]) -> None:
        conn = sqlite3.connect(self.backend.uow_factory.db.path, isolation_level=None)
        try:
            conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
            for sql, params in statements:
                conn.execute(sql, params)
        finally:
            conn.close()

    async def _modify_sqlite(self, seq, fields) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        self._sql(
            (
                f"UPDATE audit_log SET {sets} WHERE clinic_id = 'clinic1' AND seq = ?",
                (*fields.values(), seq),
            )
        )

    async def _delete_sqlite(self, seq) -> None:
        self._sql(("DELETE FROM audit_log WHERE clinic_id = 'clinic1' AND seq = ?", (seq,)))

    async def _swap_sqlite(self, a, b) -> None:
        where = "WHERE clinic_id = 'clinic1' AND seq = ?"
        self._sql(
            (f"UPDATE audit_log SET seq = -1 {where}", (a,)),
            (f"UPDATE audit_log SET seq = ? {where}", (a, b)),
            (f"UPDATE audit_log SET seq = ? {where}", (b, -1)),
        )

    # Firestore: the client, straight to the documents
    def _doc(self, seq):
        factory = self.backend.uow_factory
        return factory.client.document(f"{factory.root}clinics/clinic1/audit/{seq:012d}")

    async def _modify_firestore(self, seq, fields) -> None:
        await self._doc(seq).update(fields)

    async def _delete_firestore(self, seq) -> None:
        await self._doc(seq).delete()

    async def _swap_firestore(self, a, b) -> None:
        doc_a = (await self._doc(a).get()).to_dict()
        doc_b = (await self._doc(b).get()).to_dict()
        await self._doc(a).set(doc_b)
        await self._doc(b).set(doc_a)


@pytest.fixture
async def chain(backend, clock) -> Tamperer:
    await _append(backend, *(_entry(clock, n) for n in range(1, 6)))
    assert (await _verify(backend)).ok
    return Tamperer(backend)


async def test_a_modified_record_is_detected(backend, chain):
    await chain.modify(3, actor_id="someone-else")
    report = await _verify(backend)
    assert not report.ok
    assert (report.broken.seq, report.broken.kind) == (3, BreakKind.MODIFIED)
    assert (report.last_seq, report.records) == (2, 3)


async def test_a_modified_record_with_a_recomputed_hash_is_detected(backend, chain):
    record = (await _records(backend))[2]
    forged = AuditRecord(**{**_fields(record), "resource_id": "another-chat"})
    await chain.modify(3, resource_id="another-chat", hash=record_hash(forged))
    report = await _verify(backend)
    assert (report.broken.seq, report.broken.kind) == (4, BreakKind.BROKEN_LINK)


async def test_a_deleted_record_is_detected(backend, chain):
    await chain.delete(2)
    report = await _verify(backend)
    assert (report.broken.seq, report.broken.kind, report.broken.found_seq) == (
        2,
        BreakKind.MISSING,
        3,
    )


async def test_a_deleted_last_record_is_detected_by_the_head(backend, chain):
    await chain.delete(5)
    report = await _verify(backend)
    assert (report.broken.seq, report.broken.kind) == (5, BreakKind.TRUNCATED)


async def test_swapped_records_are_detected(backend, chain):
    await chain.swap(2, 3)
    report = await _verify(backend)
    assert not report.ok
    assert report.broken.seq == 2


def _fields(record: AuditRecord) -> dict:
    import attrs

    return attrs.asdict(record, recurse=False)


# -- SQLite: the database itself refuses tampering -------------------------------------------


@pytest.fixture
async def sqlite_chain(tmp_path, clock):
    from porfin_adapters.sqlite.database import SqliteDatabase
    from porfin_adapters.sqlite.storage import SqliteUnitOfWorkFactory
    from tests.contract.conftest import Backend
    from tests.support import SequentialIds

    db = SqliteDatabase(tmp_path / "porfin.db")
    await db.open()
    backend = Backend("sqlite", SqliteUnitOfWorkFactory(db, SequentialIds()), None)
    await _append(backend, *(_entry(clock, n) for n in range(1, 6)))
    conn = sqlite3.connect(db.path, isolation_level=None)
    yield backend, conn
    conn.close()
    await db.close()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET actor_id = 'x' WHERE seq = 2",
        "UPDATE audit_log SET seq = 9 WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_log",
        "DELETE FROM audit_heads",
        "UPDATE audit_heads SET seq = 4",
        "UPDATE audit_heads SET hash = 'x'",
        "INSERT INTO audit_log SELECT clinic_id, 6, at_micros, actor_id, actor_kind, action,"
        " resource_type, resource_id, source, request_id, details, 'forged', hash"
        " FROM audit_log WHERE seq = 5",
        "INSERT INTO audit_log SELECT clinic_id, 7, at_micros, actor_id, actor_kind, action,"
        " resource_type, resource_id, source, request_id, details, prev_hash, hash"
        " FROM audit_log WHERE seq = 5",
    ],
)
async def test_sqlite_triggers_refuse_tampering(sqlite_chain, sql):
    backend, conn = sqlite_chain
    with pytest.raises(sqlite3.IntegrityError, match="audit"):
        conn.execute(sql)
    report = await _verify(backend)
    assert report.ok and report.records == 5
