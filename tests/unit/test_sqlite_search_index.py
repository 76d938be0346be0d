"""The SQLite writer adds messages to the full-text index at most every INDEX_EVERY_SECONDS
(one large insert instead of one per commit); a chat search still finds a message from the
moment its commit returns, and the index catches up once the writes stop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from porfin_adapters.sqlite import database
from porfin_adapters.sqlite.database import SqliteDatabase
from porfin_adapters.sqlite.storage import SqliteUnitOfWorkFactory
from porfin_adapters.system import TimeOrderedIds
from porfin_adapters.text import phrase_prefix_match
from porfin_core.ports.storage import ChatQuery
from tests import builders

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _unindexed(db: SqliteDatabase) -> int:
    row = db.reader.execute(
        "SELECT COUNT(*) FROM messages WHERE rowid > (SELECT last_rowid FROM search_state)"
    ).fetchone()
    return int(row[0])


async def _store(factory: SqliteUnitOfWorkFactory, n: int, body: str) -> None:
    async with factory() as uow:
        if n == 0:
            await uow.customers.save(builders.customer(NOW, "cust1"))
            await uow.chats.save(builders.chat(NOW, "chat1", customer_id="cust1"))
        await uow.messages.save(builders.message(NOW, f"m{n}", chat_id="chat1", body=body))
        await uow.commit()


async def _found(factory: SqliteUnitOfWorkFactory, term: str) -> list[str]:
    async with factory(read_only=True) as uow:
        page = await uow.chats.list(ChatQuery(clinic_id="clinic1", search=term))
        return [chat.id for chat in page.items]


async def test_messages_not_indexed_yet_are_found_and_indexed_once_writes_stop(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(database, "INDEX_EVERY_SECONDS", 0.5)
    db = SqliteDatabase(tmp_path / "porfin.db")
    await db.open()
    try:
        factory = SqliteUnitOfWorkFactory(db, TimeOrderedIds())
        await _store(factory, 0, "Bom dia")  # the first commit indexes, and starts the wait
        await _store(factory, 1, "Quero marcar uma LIMPEZA amanhã")
        assert _unindexed(db) == 1
        assert await _found(factory, "limpeza") == ["chat1"]
        assert await _found(factory, "uma limp") == ["chat1"]
        assert await _found(factory, "impeza") == []  # words, as the index matches them
        for _ in range(250):  # the pass that indexes once the writes stop
            if _unindexed(db) == 0:
                break
            await asyncio.sleep(0.02)
        assert _unindexed(db) == 0
        assert await _found(factory, "limpeza") == ["chat1"]
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("text", "term", "found"),
    [
        ("Quero marcar uma Limpeza amanhã", "uma limp", True),
        ("Olá, Conceição!", "CONCEICAO", True),
        ("limpeza_dental", "dental", True),  # '_' separates words, as in unicode61
        ("limpeza", "impeza", False),
        ("uma outra limpeza", "uma limpeza", False),
        ("qualquer coisa", "", False),
        ("qualquer coisa", "!!", False),
    ],
)
def test_phrase_prefix_match_reads_words_as_the_index_does(text, term, found):
    assert phrase_prefix_match(text, term) is found
