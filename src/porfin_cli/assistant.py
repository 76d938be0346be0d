"""``porfin assistant``: the clinic's AI assistants: list, create, change, talk to one in the
terminal (the sandbox: nothing is booked or sent), and read what the AI did in a chat."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.charges import parse_amount
from porfin_cli.runtime import cli_actor, fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.assistant import Assistant, AssistantTurn, TraceStep

app = typer.Typer(
    help="Recepcionista virtual (IA): listar, criar, ajustar, conversar no terminal.",
    no_args_is_help=True,
)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]
Facts = Annotated[
    list[str] | None,
    typer.Option(
        "--fact",
        help="Fato da clínica TEMA=TEXTO (address, hours, prices, insurance, payment, about, "
        "policies); repita para vários.",
    ),
]

STATUS_PT = {
    "replied": "respondeu",
    "handed_off": "passou para a equipe",
    "superseded": "descartada (mensagem mais nova)",
    "skipped": "nada a fazer",
}


def _facts(items: list[str] | None) -> dict[str, str]:
    facts: dict[str, str] = {}
    for item in items or []:
        topic, sep, text = item.partition("=")
        if not sep or not topic.strip() or not text.strip():
            fail(f"fato inválido: {item!r} (use TEMA=TEXTO)")
        facts[topic.strip()] = text.strip()
    return facts


def _json(assistant: Assistant) -> dict[str, Any]:
    import attrs

    found = attrs.asdict(assistant)
    found["created_at"] = assistant.created_at.isoformat()
    return {k: getattr(v, "value", v) for k, v in found.items()}


def _settings(
    *,
    name: str | None = None,
    tone: str | None = None,
    facts: dict[str, str] | None = None,
    engine: str | None = None,
    model: str | None = None,
    deposit: str | None = None,
    debounce: int | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": name,
        "tone": tone,
        "facts": facts or None,
        "engine": engine,
        "model": model,
        "debounce_seconds": debounce,
        "active": active,
    }
    if deposit is not None:
        values["deposit_cents"] = None if deposit in ("", "0") else parse_amount(deposit)
    return {k: v for k, v in values.items() if v is not None or k == "deposit_cents"}


@app.command("list")
def list_assistants(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Lista os assistentes da clínica."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[Assistant]:
        clinic = (await container.set_up_installation()()).clinic
        return list(clinic.assistants)

    found = run_local(settings, work)
    if as_json:
        print_json([_json(a) for a in found])
        return
    if not found:
        typer.echo("Nenhum assistente. Crie um com: porfin assistant create NOME")
    for assistant in found:
        state = "ativo" if assistant.active else "inativo"
        typer.echo(
            f"{assistant.id}  {assistant.name}  {assistant.role.value}  "
            f"motor {assistant.engine.value}  {state}"
        )


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Nome do assistente (ex.: Sofia).")],
    fact: Facts = None,
    tone: Annotated[str | None, typer.Option("--tone", help="Tom das respostas.")] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="offline (padrão) ou openai.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Modelo (openai).")] = None,
    deposit: Annotated[
        str | None, typer.Option("--deposit", help="Sinal cobrado por PIX ao marcar, ex.: 50,00.")
    ] = None,
    debounce: Annotated[
        int | None, typer.Option("--debounce", help="Segundos de espera por mais mensagens.")
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Cria um assistente (motor offline por padrão: sem chave, sem internet)."""
    values = _settings(
        name=name,
        tone=tone,
        facts=_facts(fact),
        engine=engine,
        model=model,
        deposit=deposit,
        debounce=debounce,
    )
    if deposit is None:
        values.pop("deposit_cents", None)
    settings = settings_for(data_dir)

    async def work(container: Container) -> Assistant:
        from porfin_core.use_cases.create_assistant import NewAssistant

        clinic = (await container.set_up_installation()()).clinic
        return await container.create_assistant()(
            NewAssistant(clinic_id=clinic.id, settings=values, actor=cli_actor())
        )

    assistant = run_local(settings, work)
    if as_json:
        print_json(_json(assistant))
        return
    typer.echo(f"Assistente criado: {assistant.name} ({assistant.id}).")


@app.command("update")
def update(
    assistant_id: Annotated[str, typer.Argument(help="Id do assistente.")],
    fact: Facts = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    tone: Annotated[str | None, typer.Option("--tone")] = None,
    engine: Annotated[str | None, typer.Option("--engine")] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    deposit: Annotated[
        str | None, typer.Option("--deposit", help="Sinal ao marcar; 0 tira o sinal.")
    ] = None,
    debounce: Annotated[int | None, typer.Option("--debounce")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove o assistente.")] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Ajusta um assistente (só o que for informado muda) ou o remove."""
    values = _settings(
        name=name,
        tone=tone,
        facts=_facts(fact) or None,
        engine=engine,
        model=model,
        deposit=deposit,
        debounce=debounce,
        active=active,
    )
    if deposit is None:
        values.pop("deposit_cents", None)
    settings = settings_for(data_dir)

    async def work(container: Container) -> Assistant:
        from porfin_core.use_cases.update_assistant import ChangeAssistant

        clinic = (await container.set_up_installation()()).clinic
        return await container.update_assistant()(
            ChangeAssistant(
                clinic_id=clinic.id,
                assistant_id=assistant_id,
                settings=values,
                remove=remove,
                actor=cli_actor(),
            )
        )

    assistant = run_local(settings, work)
    if as_json:
        print_json(_json(assistant))
        return
    typer.echo(f"Assistente {'removido' if remove else 'atualizado'}: {assistant.name}.")


def _show_step(step: TraceStep) -> None:
    detail = step.detail
    if step.kind == "tool":
        arguments = json.dumps(detail.get("arguments"), ensure_ascii=False)
        result = json.dumps(detail.get("result"), ensure_ascii=False)
        typer.secho(f"  → {detail.get('name')} {arguments}", fg=typer.colors.CYAN)
        typer.secho(f"    ← {result[:400]}", fg=typer.colors.BRIGHT_BLACK)
    elif step.kind == "safety" and detail.get("red_flag"):
        typer.secho(f"  ! sinal de alerta: {detail['red_flag']}", fg=typer.colors.RED)
    elif step.kind == "validation" and detail.get("violations"):
        typer.secho(f"  ! resposta recusada: {detail['violations']}", fg=typer.colors.YELLOW)
    elif step.kind == "retrieval" and detail.get("chunks"):
        titles = ", ".join(str(c.get("document")) for c in detail["chunks"])
        typer.secho(f"  · conhecimento: {titles}", fg=typer.colors.BRIGHT_BLACK)


@app.command("chat")
def chat(
    assistant_id: Annotated[
        str | None, typer.Argument(help="Id do assistente (padrão: o primeiro).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Conversa com o assistente no terminal, como um paciente (nada é marcado nem enviado).
    Mostra cada ferramenta usada. Ctrl-D ou "sair" encerra."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> None:
        import asyncio

        from porfin_core.use_cases.try_assistant import SandboxLine, SandboxTurn

        clinic = (await container.set_up_installation()()).clinic
        if not clinic.assistants:
            fail("nenhum assistente: crie um com porfin assistant create NOME")
        chosen = clinic.assistants[0].id if assistant_id is None else assistant_id
        name = next((a.name for a in clinic.assistants if a.id == chosen), chosen)
        typer.echo(f"Conversando com {name} (sandbox). Ctrl-D ou 'sair' encerra.")
        transcript: list[SandboxLine] = []
        previous: str | None = None
        while True:
            try:
                line = await asyncio.to_thread(input, "você> ")
            except EOFError:
                break
            if line.strip().lower() in ("sair", "exit", "quit"):
                break
            if not line.strip():
                continue
            transcript.append(SandboxLine(role="patient", text=line))

            async def step(s: TraceStep) -> None:
                _show_step(s)

            reply = await container.try_assistant()(
                SandboxTurn(
                    clinic_id=clinic.id,
                    assistant_id=chosen,
                    transcript=transcript[-40:],
                    previous_turn_id=previous,
                ),
                on_step=step,
            )
            previous = reply.turn.id
            text = reply.text or "(sem resposta)"
            typer.secho(f"{name}> {text}", fg=typer.colors.GREEN)
            if reply.handed_off:
                typer.secho(
                    f"  (passaria para a equipe: {reply.turn.handoff_reason})",
                    fg=typer.colors.YELLOW,
                )
            transcript.append(SandboxLine(role="assistant", text=text))
        sys.stdout.flush()

    run_local(settings, work)


@app.command("trace")
def trace(
    chat_id: Annotated[str, typer.Argument(help="Id da conversa.")],
    limit: Annotated[int, typer.Option("--limit", help="Quantos turnos.")] = 10,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Mostra o que a IA fez numa conversa: cada passo, ferramenta e resultado."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[AssistantTurn]:
        clinic = (await container.set_up_installation()()).clinic
        return await container.list_assistant_turns()(clinic.id, chat_id, None, limit)

    turns = run_local(settings, work)
    if as_json:
        import attrs

        print_json([attrs.asdict(t) for t in turns])
        return
    if not turns:
        typer.echo("A IA ainda não respondeu nesta conversa.")
    for turn in turns:
        status = STATUS_PT.get(turn.status.value, turn.status.value)
        typer.echo(f"{turn.started_at:%d/%m %H:%M}  {status}  ({turn.overhead_ms:.0f} ms)")
        for step in turn.steps:
            _show_step(step)
        if turn.reply:
            typer.echo(f"  IA: {turn.reply}")
        if turn.handoff_reason:
            typer.echo(f"  motivo: {turn.handoff_reason}")
