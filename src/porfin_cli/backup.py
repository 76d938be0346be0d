"""``porfin backup`` and ``porfin restore``: the whole installation in one archive, made while
the server runs, put back only once verified."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.progress import progress_bar
from porfin_cli.runtime import fail, porfin_errors, print_json, settings_for

if TYPE_CHECKING:
    from porfin_adapters.backup import BackupResult

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]

# What the summaries name, by table (SQLite) or collection (Firestore, last segment).
_NOUNS_PT = {
    "customers": ("paciente", "pacientes"),
    "chats": ("conversa", "conversas"),
    "messages": ("mensagem", "mensagens"),
    "appointments": ("consulta", "consultas"),
    "staff": ("usuário", "usuários"),
    "staff_users": ("usuário", "usuários"),
}


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            text = f"{value:.0f}" if unit == "B" else f"{value:.1f}".replace(".", ",")
            return f"{text} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


def _records(counts: dict[str, int]) -> str:
    by_name: dict[str, int] = {}
    for key, count in counts.items():
        name = key.rsplit("/", 1)[-1]
        by_name[name] = by_name.get(name, 0) + count
    parts = []
    for name, (one, many) in _NOUNS_PT.items():
        if name in by_name:
            count = by_name[name]
            parts.append(f"{count} {one if count == 1 else many}")
    return ", ".join(parts) or "nenhum registro"


def _result_json(result: BackupResult) -> dict[str, Any]:
    return {
        "path": str(result.path),
        "storage": result.storage,
        "created_at": result.created_at.isoformat(),
        "schema_version": result.schema_version,
        "counts": result.counts,
        "files": result.files,
        "size": result.size,
    }


@contextmanager
def _backup_errors() -> Iterator[None]:
    from porfin_adapters.backup import InvalidBackup, RestoreRefused

    with porfin_errors():
        try:
            yield
        except InvalidBackup as exc:
            fail(f"backup inválido ou corrompido; nada foi alterado — {exc.message}")
        except RestoreRefused as exc:
            fail(f"restauração recusada; nada foi alterado — {exc.message}")


def backup(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Arquivo a criar (padrão: porfin-backup-AAAAMMDD-HHMMSS.tar.gz aqui).",
            dir_okay=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Cria um backup completo (banco, arquivos e chaves), com o servidor rodando ou não."""
    from datetime import datetime

    from porfin_adapters.backup import backup_for, default_backup_name

    settings = settings_for(data_dir)
    destination = (file or Path(default_backup_name(datetime.now().astimezone()))).absolute()
    with _backup_errors():
        backup = backup_for(settings)
        with progress_bar("Copiando", enabled=not as_json) as advance:
            result = backup.create(destination, advance)
    if as_json:
        print_json(_result_json(result))
        return
    typer.echo(f"Backup criado: {result.path} ({_size(result.size)})")
    schema = f", esquema {result.schema_version}" if result.schema_version is not None else ""
    typer.echo(f"Armazenamento: {result.storage}{schema}")
    typer.echo(f"Conteúdo: {_records(result.counts)}; {result.files} arquivo(s) de dados.")
    typer.echo("Guarde-o em lugar seguro: ele contém as chaves e credenciais da instalação.")


def restore(
    file: Annotated[
        Path,
        typer.Argument(help="Arquivo de backup.", exists=True, dir_okay=False, readable=True),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Substituir os dados que já existem.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Só verificar o arquivo, sem restaurar nada.")
    ] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Restaura um backup depois de verificá-lo (os dados anteriores são guardados à parte)."""
    from porfin_adapters.backup import backup_for, verify_archive

    settings = settings_for(data_dir)
    archive = file.absolute()
    with _backup_errors(), progress_bar("Restaurando", enabled=not as_json) as advance:
        if check:
            verified = verify_archive(archive, advance)
        else:
            restored = backup_for(settings).restore(archive, force=force, progress=advance)
            verified = restored.backup
    if check:
        if as_json:
            print_json({"ok": True, "backup": _result_json(verified)})
            return
        typer.echo(f"Backup válido: {archive}")
        typer.echo(
            f"Criado em {verified.created_at.astimezone():%d/%m/%Y %H:%M} "
            f"({verified.storage}): {_records(verified.counts)}; "
            f"{verified.files} arquivo(s) de dados."
        )
        return
    if as_json:
        print_json(
            {
                "data_dir": str(restored.data_dir),
                "previous": str(restored.previous) if restored.previous else None,
                "backup": _result_json(verified),
            }
        )
        return
    typer.echo(
        f"Backup verificado: criado em {verified.created_at.astimezone():%d/%m/%Y %H:%M} "
        f"({verified.storage})."
    )
    typer.echo(
        f"Restaurado em {restored.data_dir}: {_records(verified.counts)}; "
        f"{verified.files} arquivo(s) de dados."
    )
    if restored.previous is not None:
        typer.echo(
            f"Os dados anteriores foram guardados em {restored.previous}; "
            "apague a pasta quando não precisar mais deles."
        )
