"""Read benchmark: wrk -> chat list and timeline -> SQLite with 10k chats / 1M messages.

Builds (once; cached under ``bench/out/``) a data directory with the real schema and a clinic
of 10,000 customers and chats and 1,000,000 messages (skewed: a few chats hold 5,000 messages),
written row by row exactly as the SQLite adapter writes them (real entities encoded with the
adapter's own functions, full-text index filled as the writer does, then ANALYZE). Then starts
``porfin serve`` on a copy of it and drives it from wrk (Debian package ``wrk``: 2 threads,
64 connections, a 3 s warm-up then the measured run) per scenario, printing:

    read <name>: <N> req/s p50 <x> ms p99 <y> ms

Every answer must be a 2xx and wrk must see no socket error; the script exits 1 otherwise.
Timeline reads append an audit record each (``messages.read``): part of the real path.

Usage: ``python bench/read.py [--chats 10000] [--messages 1000000] [--seconds 10]
[--workers 2] [--rebuild] [--only NAME,...]``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest import PACED_CONNECTIONS, run_wrk, serving, set_up

from porfin_adapters.customer_search import customer_keys
from porfin_adapters.serialization import utc_micros
from porfin_adapters.settings import load_settings
from porfin_adapters.sqlite.storage import _dump
from porfin_adapters.text import digits, fold
from porfin_adapters.tokens import ensure_admin_token
from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
from porfin_core.domain.customer import Customer, Identity, identity_keys
from porfin_core.domain.message import (
    Author,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    StatusChange,
    preview,
)
from porfin_core.pagination import encode_cursor

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
MIGRATIONS = ROOT / "src" / "porfin_adapters" / "sqlite" / "migrations"
BIG_CHATS = 10
BIG_CHAT_MESSAGES = 5000
BATCH = 50_000
BUILD_VERSION = 2  # bump when build() changes: cached databases are keyed by it
# Fixed "now" of the generated history: the data is the same on every build.
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
HISTORY = timedelta(days=365)

FIRST = [
    "Maria",
    "Ana",
    "Francisca",
    "Antônia",
    "Adriana",
    "Juliana",
    "Márcia",
    "Fernanda",
    "Patrícia",
    "Aline",
    "Sandra",
    "Camila",
    "Amanda",
    "Bruna",
    "Jéssica",
    "Letícia",
    "Júlia",
    "Luciana",
    "Vanessa",
    "Mariana",
    "Gabriela",
    "Beatriz",
    "Larissa",
    "José",
    "João",
    "Antônio",
    "Francisco",
    "Carlos",
    "Paulo",
    "Pedro",
    "Lucas",
    "Luiz",
    "Marcos",
    "Luís",
    "Gabriel",
    "Rafael",
    "Daniel",
    "Marcelo",
    "Bruno",
    "Eduardo",
    "Felipe",
    "Raimundo",
    "Rodrigo",
    "Conceição",
    "Thiago",
    "Gustavo",
    "Vitor",
]
LAST = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Cavalcanti",
    "Monteiro",
    "Moura",
    "Correia",
    "Pinto",
    "Melo",
    "Barros",
    "Assunção",
]
PROCEDURES = (
    "limpeza",
    "clareamento",
    "canal",
    "extração do siso",
    "aparelho",
    "implante",
    "restauração",
    "avaliação",
    "faceta",
    "manutenção do aparelho",
)
INBOUND = (
    "Oi, aqui é {name}. Gostaria de saber o valor de {proc}.",
    "Bom dia! Vocês têm horário para {proc} na semana que vem?",
    "Aceitam convênio para {proc}? Tenho Amil.",
    "Pode ser na {day} de manhã?",
    "Obrigada!",
    "Tudo bem, confirmo então.",
    "Preciso remarcar minha consulta de {proc}, surgiu um imprevisto.",
    "Quanto tempo demora {proc}? Dói muito?",
    "Estou com dor desde ontem, vocês atendem urgência?",
    "Qual o endereço da clínica? Tem estacionamento?",
    "Pode parcelar no cartão?",
    "ok",
)
OUTBOUND = (
    "Olá! Claro, {proc} custa a partir de R$ 250, e parcelamos em até 6x no cartão.",
    "Temos horário na {day} às 9h ou às 14h30. Qual prefere?",
    "Consulta de {proc} confirmada para {day}. Até lá!",
    "Aceitamos Amil, Bradesco Saúde e SulAmérica. Traga a carteirinha, por favor.",
    "Sinto muito pela dor! Temos um encaixe hoje às 17h. Posso reservar?",
    "Estamos na Rua Augusta, 1500, sala 32. Há estacionamento conveniado no prédio.",
    "Remarcado! Seu novo horário é {day} às 10h.",
    "Qualquer dúvida é só chamar por aqui. 😊",
)
DAYS = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado")

LUA = r"""
local paths = {}
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tid * 7919 + 17)
  for line in io.lines(os.getenv("PP_PATHS")) do
    table.insert(paths, line)
  end
end
local per_conn_ms = 0
if os.getenv("PP_RATE") then
  per_conn_ms = 1000 * tonumber(os.getenv("PP_CONNS")) / tonumber(os.getenv("PP_RATE"))
end
-- Exponential think times: each connection is a Poisson source (see bench/ingest.py).
function delay()
  if per_conn_ms == 0 then return 0 end
  return -math.log(1 - math.random()) * per_conn_ms
end
function request()
  return wrk.format("GET", paths[math.random(#paths)], {
    ["Authorization"] = "Bearer " .. os.getenv("PP_TOKEN"),
  })
end
"""


def _hex_id(rng: random.Random, moment_micros: int) -> str:
    """An id shaped like ``TimeOrderedIds``: milliseconds, then 80 random bits."""
    return f"{moment_micros // 1000:012x}{rng.getrandbits(79):020x}"


def _at(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def _message_counts(rng: random.Random, chats: int, messages: int) -> list[int]:
    """Messages per chat: ``BIG_CHATS`` chats of 5,000, the rest log-normally skewed."""
    big = min(BIG_CHATS, chats // 10, messages // (2 * BIG_CHAT_MESSAGES))
    rest = messages - big * BIG_CHAT_MESSAGES
    weights = [rng.lognormvariate(0, 1.0) for _ in range(chats - big)]
    scale = rest / sum(weights)
    counts = [max(1, min(BIG_CHAT_MESSAGES - 1, int(w * scale))) for w in weights]
    while (gap := rest - sum(counts)) != 0:
        i = rng.randrange(len(counts))
        counts[i] = max(1, min(BIG_CHAT_MESSAGES - 1, counts[i] + (1 if gap > 0 else -1)))
    counts = [BIG_CHAT_MESSAGES] * big + counts
    rng.shuffle(counts)
    return counts


def build(data_dir: Path, chats: int, messages: int) -> None:
    """Create the installation in ``data_dir`` and bulk-load the clinic's history."""
    started = time.monotonic()
    channel_id, _ = set_up(data_dir)
    db = sqlite3.connect(data_dir / "porfin.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")  # no WAL copy of a 1 GB load
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-2000000")
    clinic_id = db.execute("SELECT id FROM clinics").fetchone()[0]
    rng = random.Random(20250602)
    counts = _message_counts(rng, chats, messages)
    now = utc_micros(NOW)
    span = int(HISTORY.total_seconds() * 1_000_000)

    # Customers and chats: who, since when, and the times of their messages.
    customer_rows, identity_rows, search_rows, chat_list, times = [], [], [], [], []
    for index, count in enumerate(counts):
        start = now - 1 - rng.randrange(span)
        end = rng.randrange(start, now) if count > 1 else start
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        phone = f"+55{rng.choice((11, 21, 31, 41, 51, 61, 71, 81))}9{rng.randrange(10**8):08d}"
        at = _at(start)
        customer = Customer.first_contact(
            id=_hex_id(rng, start),
            clinic_id=clinic_id,
            name=name,
            identities=[Identity.of_phone(phone)],
            at=at,
        )
        chat = Chat.start(
            id=_hex_id(rng, start),
            clinic_id=clinic_id,
            customer_id=customer.id,
            channel_id=channel_id,
            customer_name=customer.name,
            customer_phone=customer.phone,
            at=at,
        )
        customer_rows.append((customer.id, clinic_id, utc_micros(at), _dump(customer)))
        identity_rows += [(clinic_id, k, customer.id) for k in identity_keys(customer.identities)]
        search_rows += [
            (clinic_id, k, customer.id)
            for k in customer_keys(customer.name, customer.phone, customer.tags)
        ]
        chat_list.append(chat)
        spread = sorted(rng.randrange(start, end + 1) for _ in range(count))
        times += [(t, index, seq) for seq, t in enumerate(spread)]
    times.sort()

    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO customers (id, clinic_id, created_micros, doc) VALUES (?, ?, ?, ?)",
        customer_rows,
    )
    db.executemany(
        "INSERT INTO customer_identities (clinic_id, key, customer_id) VALUES (?, ?, ?)",
        identity_rows,
    )
    db.executemany(
        "INSERT INTO customer_keys (clinic_id, key, customer_id) VALUES (?, ?, ?)", search_rows
    )

    # Messages in time order (as they arrive), patient and clinic taking turns.
    human = {i for i in range(chats) if rng.random() < 0.15}
    last_message: list[Message | None] = [None] * chats
    last_inbound: list[datetime | None] = [None] * chats
    sql = (
        "INSERT INTO messages (id, clinic_id, chat_id, channel_id, provider_message_id,"
        " created_micros, body, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    rows = []
    for micros, index, seq in times:
        chat = chat_list[index]
        at = _at(micros)
        fill = {
            "name": chat.customer_name.split()[0],
            "proc": PROCEDURES[(index + seq // 6) % len(PROCEDURES)],
            "day": DAYS[(micros >> 20) % len(DAYS)],
        }
        message_id = _hex_id(rng, micros)
        if seq % 2 == 0:
            body = INBOUND[0 if seq == 0 else rng.randrange(len(INBOUND))].format(**fill)
            direction, author, status = Direction.INBOUND, Author.PATIENT, DeliveryStatus.RECEIVED
            history = [StatusChange(status, at)]
            sent_at: datetime | None = at
            last_inbound[index] = at
        else:
            body = OUTBOUND[rng.randrange(len(OUTBOUND))].format(**fill)
            direction, status = Direction.OUTBOUND, DeliveryStatus.READ
            author = Author.STAFF if index in human else Author.AI
            history = [
                StatusChange(DeliveryStatus.SENT, at),
                StatusChange(DeliveryStatus.DELIVERED, at + timedelta(seconds=2)),
                StatusChange(DeliveryStatus.READ, at + timedelta(seconds=40)),
            ]
            sent_at = None
        message = Message(
            id=message_id,
            clinic_id=clinic_id,
            chat_id=chat.id,
            channel_id=channel_id,
            direction=direction,
            author=author,
            kind=MessageKind.TEXT,
            body=body,
            provider_message_id=f"wamid.{message_id}",
            status=status,
            history=history,
            sent_at=sent_at,
            created_at=at,
        )
        last_message[index] = message
        rows.append(
            (
                message.id,
                clinic_id,
                chat.id,
                channel_id,
                message.provider_message_id,
                micros,
                body,
                _dump(message),
            )
        )
        if len(rows) >= BATCH:
            db.executemany(sql, rows)
            rows.clear()
    db.executemany(sql, rows)

    # The chats as the last message left them; some handed off, paused, closed or unread.
    chat_rows = []
    for index, chat in enumerate(chat_list):
        last = last_message[index]
        assert last is not None
        chat.last_message_at = last.created_at
        chat.last_message_preview = preview(last)
        chat.last_inbound_at = last_inbound[index]
        roll = rng.random()
        if index in human:
            chat.mode, chat.handoff_reason = ChatMode.HUMAN, "patient_asked_for_a_person"
        elif roll < 0.05:
            chat.mode, chat.paused_until = ChatMode.PAUSED, last.created_at + timedelta(hours=8)
        if now - utc_micros(last.created_at) > 30 * 86_400_000_000 and rng.random() < 0.7:
            chat.status = ChatStatus.CLOSED
        elif last.direction is Direction.INBOUND or roll > 0.8:
            chat.unread_count = rng.randint(1, 4)
        chat_rows.append(
            (
                chat.id,
                chat.clinic_id,
                chat.customer_id,
                chat.channel_id,
                chat.mode.value,
                chat.status.value,
                chat.assignee_id,
                chat.unread_count,
                utc_micros(chat.last_message_at),
                fold(chat.customer_name),
                digits(chat.customer_phone or ""),
                _dump(chat),
            )
        )
    db.executemany(
        "INSERT INTO chats (id, clinic_id, customer_id, channel_id, mode, status, assignee_id,"
        " unread_count, last_micros, name_folded, phone_digits, doc)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        chat_rows,
    )
    loaded = time.monotonic()
    # The full-text index, as the writer fills it after each commit batch.
    newest = db.execute("SELECT MAX(rowid) FROM messages").fetchone()[0]
    db.execute(
        "INSERT INTO messages_fts (rowid, body, chat_id, clinic_id)"
        " SELECT rowid, body, chat_id, clinic_id FROM messages"
        " WHERE rowid > 0 AND body IS NOT NULL"
    )
    db.execute("UPDATE search_state SET last_rowid = ?", (newest,))
    db.execute("COMMIT")
    indexed = time.monotonic()
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    print(
        f"built {chats} chats / {messages} messages in {time.monotonic() - started:.1f} s"
        f" (rows {loaded - started:.1f} s, full-text {indexed - loaded:.1f} s,"
        f" analyze {time.monotonic() - indexed:.1f} s)",
        flush=True,
    )


def cached_data_dir(chats: int, messages: int, rebuild: bool) -> Path:
    """The built data directory for these sizes and this schema (built when missing)."""
    schema = hashlib.sha256()
    for script in sorted(MIGRATIONS.glob("*.sql")):
        schema.update(script.name.encode() + script.read_bytes())
    key = f"{BUILD_VERSION}-{schema.hexdigest()[:10]}"
    target = OUT / f"read-{chats}-{messages}-{key}"
    if target.exists() and not rebuild:
        print(f"using the cached database {target.relative_to(ROOT)}", flush=True)
        return target
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob(f"read-{chats}-{messages}-*"):
        shutil.rmtree(old)
    building = Path(tempfile.mkdtemp(prefix="read-building-", dir=OUT))
    try:
        build(building, chats, messages)
        building.rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _page_cursor(db: sqlite3.Connection, where: str, params: tuple[object, ...], skip: int) -> str:
    """The cursor the API returns after ``skip`` chats of a list (None past its end)."""
    row = db.execute(
        f"SELECT last_micros, id FROM chats WHERE {where}"
        " ORDER BY last_micros DESC, id DESC LIMIT 1 OFFSET ?",
        (*params, skip - 1),
    ).fetchone()
    return encode_cursor(row[0], row[1])


def scenarios(db_path: Path) -> dict[str, list[str]]:
    """Request paths per scenario, drawn from the built data."""
    rng = random.Random(7)
    db = sqlite3.connect(db_path)
    total = db.execute("SELECT COUNT(*) FROM chats").fetchone()[0]
    base = "/api/v1/chats"

    def q(**params: object) -> str:
        return f"{base}?{urllib.parse.urlencode({'limit': 50, **params})}"

    deep = [q(cursor=_page_cursor(db, "1", (), rng.randrange(50, total - 50))) for _ in range(200)]
    humans = db.execute("SELECT COUNT(*) FROM chats WHERE mode = 'human'").fetchone()[0]
    unread = db.execute("SELECT COUNT(*) FROM chats WHERE unread_count > 0").fetchone()[0]
    filtered = [q(mode="human"), q(unread="true"), q(status="open", unread="true")]
    filtered += [
        q(mode="human", cursor=_page_cursor(db, "mode = 'human'", (), rng.randrange(50, humans)))
        for _ in range(50)
    ]
    filtered += [
        q(unread="true", cursor=_page_cursor(db, "unread_count > 0", (), rng.randrange(50, unread)))
        for _ in range(50)
    ]
    names = [r[0] for r in db.execute("SELECT doc ->> 'customer_name' FROM chats LIMIT 300")]
    phones = [r[0] for r in db.execute("SELECT phone_digits FROM chats LIMIT 100")]
    search = [q(q=name.split()[0]) for name in names[:100]]  # first names: many hits
    search += [q(q=name) for name in names[100:200]]  # full names
    search += [q(q=name.split()[-1]) for name in names[200:]]  # surnames
    search += [q(q=phone[-8:-4] + "-" + phone[-4:]) for phone in phones]  # part of a number
    chats = [
        (r[0], r[1])
        for r in db.execute(
            "SELECT chat_id, COUNT(*) FROM messages GROUP BY chat_id ORDER BY COUNT(*) DESC"
        )
    ]
    big = [c for c, n in chats if n >= BIG_CHAT_MESSAGES]
    picked = rng.sample(chats, min(2000, len(chats)))
    timeline = [f"{base}/{c}/messages?limit=50" for c, _ in picked]
    timeline += [f"{base}/{c}/messages?limit=50" for c in big] * 20  # ~10% of the requests
    deep_timeline = []
    longer = [c for c in chats if c[1] > 100]
    for chat_id, count in [*rng.sample(longer, min(300, len(longer))), *chats[:20] * 10]:
        skip = rng.randrange(50, count)
        row = db.execute(
            "SELECT created_micros, id FROM messages WHERE chat_id = ?"
            " ORDER BY created_micros DESC, id DESC LIMIT 1 OFFSET ?",
            (chat_id, skip - 1),
        ).fetchone()
        cursor = encode_cursor(row[0], row[1])
        deep_timeline.append(f"{base}/{chat_id}/messages?limit=50&cursor={cursor}")
    db.close()
    return {
        "chats-first-page": [q()],
        "chats-deep-page": deep,
        "chats-filtered": filtered,
        "chats-search": search,
        "timeline": timeline,
        "timeline-deep": deep_timeline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached database")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument(
        "--rate", type=int, default=300, help="paced target, req/s (0: saturation runs only)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    cached = cached_data_dir(args.chats, args.messages, args.rebuild)
    size = (cached / "porfin.db").stat().st_size
    print(f"database: {size / 2**20:.0f} MiB", flush=True)
    runs = scenarios(cached / "porfin.db")
    if args.only:
        runs = {name: runs[name] for name in args.only.split(",")}
    # Serve a copy: the audit records of timeline reads must not pile up in the cache.
    data_dir = Path(tempfile.mkdtemp(prefix="porfin-bench-read-"))
    shutil.copytree(cached, data_dir, dirs_exist_ok=True)
    token = ensure_admin_token(load_settings(data_dir=data_dir))[0]
    failed = []
    try:
        with serving(data_dir, args.workers) as (base, pid):
            script = data_dir / "read.lua"
            script.write_text(LUA, encoding="utf-8")
            for name, paths in runs.items():
                listing = data_dir / f"{name}.paths"
                listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
                env = {"PP_TOKEN": token, "PP_PATHS": str(listing)}
                run_wrk(base, script, 3, env, pid)  # warm the page cache and the workers
                if args.rate:
                    # Enough connections for the rate, each busy often enough that the server
                    # never closes it as idle (uvicorn's keep-alive timeout is 5 s).
                    conns = max(8, min(PACED_CONNECTIONS, args.rate // 8))
                    paced_env = {"PP_RATE": str(args.rate), "PP_CONNS": str(conns)}
                    label = f"read {name} [paced {args.rate}/s]"
                    try:
                        paced = run_wrk(
                            base, script, args.seconds, {**env, **paced_env}, pid, conns
                        )
                    except SystemExit as exc:  # timeouts: the rate is beyond this scenario
                        print(f"{label}: not held ({str(exc).splitlines()[-1].strip()})")
                        failed.append(name)
                    else:
                        _report(label, paced)
                        if paced["p99"] > 50:
                            failed.append(name)
                try:
                    run = run_wrk(base, script, args.seconds, env, pid)
                except SystemExit as exc:
                    print(f"read {name} [saturation]: {str(exc).splitlines()[-1].strip()}")
                else:
                    _report(f"read {name} [saturation]", run)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if failed:
        print(f"over the 50 ms p99 bar at {args.rate} req/s: {', '.join(failed)}")


def _report(label: str, run: dict[str, float]) -> None:
    print(
        f"{label}: {run['rate']:.0f} req/s p50 {run['p50']:.2f} ms p99 {run['p99']:.2f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
