"""Knowledge-base search benchmark: one clinic's knowledge base of N chunks (default 2,000:
a long price list, FAQs and policies, the realistic files of tests/data/assistant/kb
repeated with varied procedures and prices), searched with patients' questions on the SQLite
and the memory stores. Prints, per store:

    knowledge search (<store>, <N> chunks, cold|warm): p50 <x> ms p99 <y> ms, index <z> s

"cold" empties the cache of analyzed chunk lines before every search (each candidate chunk
read for the first time); "warm" is a server answering question after question.

The target is p99 < 20 ms at 2,000 chunks on one core.

Usage: ``python bench/knowledge_search.py [--chunks 2000] [--queries 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from porfin_adapters.knowledge import ranking  # noqa: E402
from porfin_adapters.knowledge.extract import DocumentTextExtractor  # noqa: E402
from porfin_adapters.memory.knowledge import MemoryKnowledgeBase  # noqa: E402
from porfin_adapters.sqlite.database import SqliteDatabase  # noqa: E402
from porfin_adapters.sqlite.knowledge import SqliteKnowledgeBase  # noqa: E402
from porfin_core.domain.knowledge import (  # noqa: E402
    KnowledgeChunk,
    KnowledgeDocument,
    chunk_sections,
)

KB = ROOT / "tests" / "data" / "assistant" / "kb"
QUESTIONS = [
    "quanto custa clareamento",
    "qual o valor da profilaxia",
    "vcs fazem endodontia? preço",
    "aceita amil",
    "atende plano odontoprev",
    "onde fica a clinica",
    "posso pagar parcelado",
    "o que fazer depois de tirar o siso",
    "tem estacionamento",
    "oi, boa tarde! queria saber quanto fica um implante e se parcela no cartão",
]
PROCEDURES = [
    "limpeza",
    "clareamento",
    "canal",
    "extração",
    "implante",
    "restauração",
    "aparelho",
    "lente",
    "prótese",
    "avaliação",
    "raspagem",
    "coroa",
]


async def _texts() -> list[tuple[str, str]]:
    extractor = DocumentTextExtractor()
    found = []
    for path in sorted(KB.iterdir()):
        extracted = await extractor.extract(path.name, None, path.read_bytes())
        found.append((extracted.title or path.stem, extracted.text))
    return found


def _documents(texts: list[tuple[str, str]], chunks: int):
    rng = random.Random(7)
    made, n = 0, 0
    while made < chunks:
        n += 1
        title, text = texts[n % len(texts)]
        if n % 3 == 0:  # a price list of its own, varied
            rows = [
                f"Procedimento: {rng.choice(PROCEDURES)} variante {rng.randint(1, 999)}; "
                f"Valor: R$ {rng.randint(50, 9000)},00"
                for _ in range(60)
            ]
            title, text = f"Tabela {n}", "\n".join(rows)
        drafts = chunk_sections(text)[: chunks - made]
        made += len(drafts)
        doc = KnowledgeDocument(
            id=f"d{n}",
            clinic_id="c1",
            title=title,
            filename=f"d{n}.txt",
            media_type="text/plain",
            size_bytes=len(text),
            sha256=hashlib.sha256(f"{n}{text}".encode()).hexdigest(),
            chunk_count=len(drafts),
            created_at=datetime(2026, 11, 25, tzinfo=UTC),
        )
        yield (
            doc,
            [
                KnowledgeChunk(
                    id=f"d{n}-{i}",
                    document_id=doc.id,
                    clinic_id="c1",
                    ordinal=i,
                    text=d.text,
                    heading=d.heading,
                )
                for i, d in enumerate(drafts)
            ],
        )


async def _run(name: str, kb, texts, chunks: int, queries: int) -> None:
    started = time.perf_counter()
    for doc, parts in _documents(texts, chunks):
        await kb.add(doc, parts)
    indexed = time.perf_counter() - started
    for question in QUESTIONS:  # warm caches (stems)
        await kb.search("c1", question)
    for cold in (True, False):
        times = []
        for i in range(queries):
            question = QUESTIONS[i % len(QUESTIONS)]
            if cold:  # as if every chunk were read for the first time
                ranking._pieces.cache_clear()
            t0 = time.perf_counter()
            await kb.search("c1", question, 5)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p50 = statistics.median(times)
        p99 = times[int(len(times) * 0.99) - 1]
        print(
            f"knowledge search ({name}, {chunks} chunks, {'cold' if cold else 'warm'}): "
            f"p50 {p50:.2f} ms p99 {p99:.2f} ms, index {indexed:.2f} s"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    texts = await _texts()
    with tempfile.TemporaryDirectory() as folder:
        db = SqliteDatabase(Path(folder) / "porfin.db")
        await db.open()
        try:
            await _run("sqlite", SqliteKnowledgeBase(db), texts, args.chunks, args.queries)
        finally:
            await db.close()
    await _run("memory", MemoryKnowledgeBase(), texts, args.chunks, args.queries)


if __name__ == "__main__":
    asyncio.run(main())
