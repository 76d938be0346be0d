"""``porfin export customers|chats|appointments``: the clinic's records as CSV or JSON lines,
read page by page through the list use cases and written as they come."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from porfin_cli.runtime import fail, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container

app = typer.Typer(
    help="Exporta pacientes, conversas ou consultas em CSV ou JSON lines.",
    no_args_is_help=True,
)

PAGE = 200
"""Rows read per page (the list use cases' largest page)."""


class Format(enum.StrEnum):
    """Output formats."""

    CSV = "csv"
    JSONL = "jsonl"


FormatOpt = Annotated[
    Format,
    typer.Option("--format", "-f", help="csv (com cabeçalho) ou jsonl (um objeto por linha)."),
]
Output = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Arquivo a escrever (padrão: a saída padrão).", dir_okay=False
    ),
]
Since = Annotated[str | None, typer.Option("--since", help="A partir desta data (AAAA-MM-DD).")]
Until = Annotated[
    str | None, typer.Option("--until", help="Até esta data, inclusive (AAAA-MM-DD).")
]
DataDir = Annotated[Path | None, typer.Option("--data-dir")]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"data inválida em {option}: {value!r} (use AAAA-MM-DD)")


def _columns(cls: type) -> list[str]:
    """The entity's stored fields, in order, without the clinic and runtime state."""
    import attrs

    return [
        f.name for f in attrs.fields(cls) if f.name != "clinic_id" and not f.name.startswith("_")
    ]


def _row(entity: object, columns: list[str]) -> dict[str, Any]:
    from porfin_adapters.serialization import to_document

    document = to_document(entity)
    return {name: document.get(name) for name in columns}


class _Sink:
    """Writes rows to a file or stdout in the chosen format, counting them."""

    def __init__(self, fmt: Format, columns: list[str], out: TextIO | None) -> None:
        import csv
        import io

        self._fmt = fmt
        self._columns = columns
        self._out = out
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer)
        self.count = 0
        if fmt is Format.CSV:
            self._csv.writerow(columns)
            self._flush()

    def _write(self, text: str) -> None:
        if self._out is None:
            typer.echo(text, nl=False)
        else:
            self._out.write(text)

    def _flush(self) -> None:
        self._write(self._buffer.getvalue())
        self._buffer.seek(0)
        self._buffer.truncate()

    def add(self, row: dict[str, Any]) -> None:
        import json

        if self._fmt is Format.JSONL:
            self._buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self._csv.writerow([_cell(row[name]) for name in self._columns])
        self.count += 1

    def end_page(self) -> None:
        self._flush()


def _cell(value: Any) -> str:
    import json

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _run_export(
    data_dir: Path | None,
    fmt: Format,
    output: Path | None,
    columns: list[str],
    rows: Callable[[Container], AsyncIterator[list[dict[str, Any]]]],
) -> None:
    """Stream the pages ``rows`` yields into ``output`` (or stdout), with a progress counter
    on stderr when writing to a file."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> int:
        from porfin_cli.progress import progress_bar

        handle = output.open("w", encoding="utf-8", newline="") if output else None
        try:
            sink = _Sink(fmt, columns, handle)
            with progress_bar("Exportando", enabled=output is not None, unit="linhas") as advance:
                async for page in rows(container):
                    for row in page:
                        sink.add(row)
                    sink.end_page()
                    advance(sink.count, 0)
            return sink.count
        finally:
            if handle is not None:
                handle.close()

    count = run_local(settings, work)
    if output is not None:
        typer.echo(f"{count} linha(s) exportada(s) para {output}", err=True)


def _bounds(container_zone: Any, since: date | None, until: date | None) -> tuple[Any, Any]:
    from porfin_core.domain.availability import day_bounds

    start = day_bounds(since, container_zone).start if since else None
    end = day_bounds(until, container_zone).end if until else None
    return start, end


def _inside(moment: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if moment is None:
        return start is None and end is None
    return (start is None or moment >= start) and (end is None or moment < end)


async def _newest_first(
    read: Callable[[str | None], Awaitable[Any]],
    when: Callable[[Any], datetime],
    start: datetime | None,
    end: datetime | None,
) -> AsyncIterator[list[Any]]:
    """The items of a newest-first list, page by page (``read(cursor)`` gives a page),
    keeping those whose ``when`` falls between ``start`` and ``end``; once a page reaches
    past ``start`` nothing later in the list is wanted."""
    cursor = None
    while True:
        page = await read(cursor)
        yield [item for item in page.items if _inside(when(item), start, end)]
        if page.next_cursor is None or (
            start is not None and page.items and when(page.items[-1]) < start
        ):
            return
        cursor = page.next_cursor


@app.command("customers")
def export_customers(
    fmt: FormatOpt = Format.CSV,
    output: Output = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Etapa do funil (new_lead, scheduled...).")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Só com esta etiqueta.")] = None,
    since: Since = None,
    until: Until = None,
    data_dir: DataDir = None,
) -> None:
    """Exporta os pacientes (os mais novos primeiro); datas filtram o cadastro."""
    from porfin_core.domain.customer import Customer

    first, last = _day(since, "--since"), _day(until, "--until")
    columns = _columns(Customer)

    async def rows(container: Container) -> AsyncIterator[list[dict[str, Any]]]:
        from porfin_core.domain.customer import FunnelStage
        from porfin_core.errors import ValidationError
        from porfin_core.ports.storage import CustomerQuery

        clinic = (await container.set_up_installation()()).clinic
        start, end = _bounds(clinic.zone, first, last)
        try:
            wanted = FunnelStage(stage) if stage else None
        except ValueError as exc:
            raise ValidationError(f"filtro inválido: {exc}") from exc
        list_customers = container.list_customers()
        pages = _newest_first(
            lambda cursor: list_customers(
                CustomerQuery(clinic_id=clinic.id, stage=wanted, tag=tag, limit=PAGE, cursor=cursor)
            ),
            lambda customer: customer.created_at,
            start,
            end,
        )
        async for items in pages:
            yield [_row(c, columns) for c in items]

    _run_export(data_dir, fmt, output, columns, rows)


@app.command("chats")
def export_chats(
    fmt: FormatOpt = Format.CSV,
    output: Output = None,
    status: Annotated[str | None, typer.Option("--status", help="open ou closed.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="ai, human ou paused.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Id do canal.")] = None,
    since: Since = None,
    until: Until = None,
    data_dir: DataDir = None,
) -> None:
    """Exporta as conversas (atividade mais recente primeiro); datas filtram a última
    mensagem."""
    from porfin_core.domain.chat import Chat

    first, last = _day(since, "--since"), _day(until, "--until")
    columns = _columns(Chat)

    async def rows(container: Container) -> AsyncIterator[list[dict[str, Any]]]:
        from porfin_core.domain.chat import ChatMode, ChatStatus
        from porfin_core.errors import ValidationError
        from porfin_core.ports.storage import ChatQuery

        clinic = (await container.set_up_installation()()).clinic
        start, end = _bounds(clinic.zone, first, last)
        try:
            filters = {
                "mode": ChatMode(mode) if mode else None,
                "status": ChatStatus(status) if status else None,
            }
        except ValueError as exc:
            raise ValidationError(f"filtro inválido: {exc}") from exc
        list_chats = container.list_chats()
        pages = _newest_first(
            lambda cursor: list_chats(
                ChatQuery(clinic_id=clinic.id, limit=PAGE, cursor=cursor, **filters)
            ),
            lambda chat: chat.last_message_at,
            start,
            end,
        )
        async for items in pages:
            yield [_row(c, columns) for c in items if channel is None or c.channel_id == channel]

    _run_export(data_dir, fmt, output, columns, rows)


@app.command("appointments")
def export_appointments(
    fmt: FormatOpt = Format.CSV,
    output: Output = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="requested, confirmed, attended, no_show ou cancelled."),
    ] = None,
    professional: Annotated[
        str | None, typer.Option("--professional", help="Id do profissional.")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Id do paciente.")] = None,
    since: Since = None,
    until: Until = None,
    data_dir: DataDir = None,
) -> None:
    """Exporta as consultas. Com --since e --until: as do período, por início, lidas em
    janelas de datas; sem eles: todas, paciente por paciente."""
    from porfin_core.domain.scheduling import Appointment

    first, last = _day(since, "--since"), _day(until, "--until")
    columns = _columns(Appointment)
    if status is not None:
        from porfin_core.domain.scheduling import AppointmentStatus

        if status not in {s.value for s in AppointmentStatus}:
            fail(f"status inválido: {status!r}")

    def keep(appointment: Appointment, start: Any, end: Any) -> bool:
        return (status is None or appointment.status == status) and _inside(
            appointment.start, start, end
        )

    async def rows(container: Container) -> AsyncIterator[list[dict[str, Any]]]:
        from porfin_core.use_cases.list_appointments import AppointmentFilter

        clinic = (await container.set_up_installation()()).clinic
        start, end = _bounds(clinic.zone, first, last)
        listing = container.list_appointments()
        if first is not None and last is not None:
            async for found in _by_dates(listing, clinic.id, first, last, professional, customer):
                yield [_row(a, columns) for a in found if keep(a, start, end)]
            return
        only = [customer] if customer is not None else None
        async for ids in _customer_ids(container, clinic.id, only):
            batch = []
            for customer_id in ids:
                found = await listing(
                    AppointmentFilter(
                        clinic_id=clinic.id,
                        customer_id=customer_id,
                        professional_id=professional,
                        limit=MAX_LIST,
                    )
                )
                batch.extend(_row(a, columns) for a in found if keep(a, start, end))
            yield batch

    _run_export(data_dir, fmt, output, columns, rows)


MAX_LIST = 1000
"""The most appointments one list returns (ListAppointments' limit)."""


async def _customer_ids(
    container: Container, clinic_id: str, only: list[str] | None
) -> AsyncIterator[list[str]]:
    if only is not None:
        yield only
        return
    from porfin_core.ports.storage import CustomerQuery

    cursor = None
    while True:
        page = await container.list_customers()(
            CustomerQuery(clinic_id=clinic_id, limit=PAGE, cursor=cursor)
        )
        yield [c.id for c in page.items]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def _by_dates(
    listing: Any,
    clinic_id: str,
    first: date,
    last: date,
    professional: str | None,
    customer: str | None,
) -> AsyncIterator[list[Any]]:
    """The appointments from ``first`` to ``last`` in windows the use case accepts (at most
    92 days), halving a window that fills a whole list."""
    from datetime import timedelta

    from porfin_core.domain.availability import MAX_SEARCH_DAYS
    from porfin_core.errors import ValidationError
    from porfin_core.use_cases.list_appointments import AppointmentFilter

    if last < first:
        raise ValidationError("--until is before --since", field="until")
    windows = []
    day = first
    while day <= last:
        end = min(last, day + timedelta(days=MAX_SEARCH_DAYS - 1))
        windows.append((day, end))
        day = end + timedelta(days=1)
    while windows:
        start, end = windows.pop(0)
        found = await listing(
            AppointmentFilter(
                clinic_id=clinic_id,
                first_day=start,
                last_day=end,
                professional_id=professional,
                customer_id=customer,
                limit=MAX_LIST,
            )
        )
        if len(found) >= MAX_LIST:
            if start == end:
                raise ValidationError(f"more than {MAX_LIST} appointments on {start}")
            middle = start + (end - start) // 2
            windows[:0] = [(start, middle), (middle + timedelta(days=1), end)]
            continue
        yield found
