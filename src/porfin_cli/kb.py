"""``porfin kb``: the knowledge base the AI receptionist answers from (price tables, FAQs,
policies): add files, list them, search them as a patient would ask, remove them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import cli_actor, fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.knowledge import KnowledgeDocument
    from porfin_core.ports.knowledge import RetrievedChunk, VectorCoverage

app = typer.Typer(
    help="Base de conhecimento da recepcionista virtual: adicionar, listar, buscar, remover,"
    " reindexar.",
    no_args_is_help=True,
)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]


def _document_json(document: KnowledgeDocument) -> dict[str, Any]:
    return {
        "id": document.id,
        "title": document.title,
        "filename": document.filename,
        "media_type": document.media_type,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "chunk_count": document.chunk_count,
        "created_at": document.created_at.isoformat(),
        "created_by": document.created_by,
    }


def _result_json(found: RetrievedChunk) -> dict[str, Any]:
    return {
        "document_id": found.chunk.document_id,
        "document_title": found.document_title,
        "chunk_id": found.chunk.id,
        "ordinal": found.chunk.ordinal,
        "heading": found.chunk.heading,
        "score": round(found.score, 4),
        "snippet": found.snippet,
        "text": found.chunk.text,
    }


def _size(size: int) -> str:
    """``12 KB``, ``1,5 MB``."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


@app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="PDF, DOCX, XLSX, CSV, TXT ou MD.")],
    title: Annotated[
        str | None, typer.Option("--title", help="Título (padrão: o do arquivo ou o nome).")
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Adiciona um arquivo à base de conhecimento (o mesmo arquivo não entra duas vezes)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"não foi possível ler {file}: {exc.strerror or exc}")
    settings = settings_for(data_dir)

    async def work(container: Container) -> tuple[KnowledgeDocument, bool]:
        from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument

        clinic = (await container.set_up_installation()()).clinic
        added = await container.add_knowledge_document()(
            NewKnowledgeDocument(
                clinic_id=clinic.id,
                filename=file.name,
                data=data,
                title=title,
                actor=cli_actor(),
            )
        )
        return added.document, added.created

    document, created = run_local(settings, work)
    if as_json:
        print_json(_document_json(document) | {"created": created})
        return
    if created:
        typer.echo(f"Adicionado: {document.title} ({document.chunk_count} trechos).")
    else:
        typer.echo(f"Este arquivo já está na base: {document.title}.")
    typer.echo(f"Id: {document.id}")


@app.command("list")
def list_documents(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Lista os documentos da base, os mais recentes primeiro."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[KnowledgeDocument]:
        clinic = (await container.set_up_installation()()).clinic
        return await container.list_knowledge_documents()(clinic.id)

    found = run_local(settings, work)
    if as_json:
        print_json([_document_json(d) for d in found])
        return
    if not found:
        typer.echo("Nenhum documento. Adicione um com: porfin kb add ARQUIVO")
    for document in found:
        typer.echo(
            f"{document.id}  {document.title}  ({document.filename}, "
            f"{_size(document.size_bytes)}, {document.chunk_count} trechos)"
        )


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help='A pergunta, ex.: "quanto custa clareamento".')],
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=50, help="Quantos trechos no máximo.")
    ] = 5,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Busca na base como um paciente perguntaria (acentos, plurais e sinônimos não
    importam)."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[RetrievedChunk]:
        from porfin_core.use_cases.search_knowledge import KnowledgeQuery

        clinic = (await container.set_up_installation()()).clinic
        return await container.search_knowledge()(
            KnowledgeQuery(clinic_id=clinic.id, query=query, limit=limit)
        )

    found = run_local(settings, work)
    if as_json:
        print_json([_result_json(r) for r in found])
        return
    if not found:
        typer.echo("Nada encontrado.")
    for rank, result in enumerate(found, 1):
        where = result.document_title
        if result.chunk.heading:
            where += f" › {result.chunk.heading}"
        typer.echo(f"{rank}. {where}  (relevância {result.score:.2f})")
        typer.echo(f"   {result.snippet}")


@app.command("reindex")
def reindex(
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Refaz todos os vetores (ex.: outro modelo de embeddings)."),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Só informa quantos trechos já têm vetor.")
    ] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Gera os vetores (embeddings da OpenAI) que faltam aos trechos da base: os adicionados
    antes de configurar a OpenAI, ou enquanto ela estava fora do ar."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> VectorCoverage:
        from porfin_core.use_cases.reindex_knowledge import KnowledgeReindex

        clinic = (await container.set_up_installation()()).clinic
        return await container.reindex_knowledge()(
            KnowledgeReindex(clinic_id=clinic.id, rebuild=rebuild, dry_run=check)
        )

    coverage = run_local(settings, work)
    if as_json:
        print_json(
            {
                "model": coverage.model,
                "chunks": coverage.chunks,
                "embedded": coverage.embedded,
                "added": coverage.added,
                "missing": coverage.missing,
            }
        )
        return
    if not check:
        typer.echo(f"Vetores gerados: {coverage.added} trechos ({coverage.model}).")
    typer.echo(
        f"Com vetor: {coverage.embedded} de {coverage.chunks} trechos"
        + (f"; faltam {coverage.missing}." if coverage.missing else ".")
    )


@app.command("remove")
def remove(
    document_id: Annotated[str, typer.Argument(help="Id do documento (porfin kb list).")],
    data_dir: DataDir = None,
) -> None:
    """Remove um documento e todos os seus trechos da base."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> KnowledgeDocument:
        from porfin_core.use_cases.remove_knowledge_document import KnowledgeRemoval

        clinic = (await container.set_up_installation()()).clinic
        return await container.remove_knowledge_document()(
            KnowledgeRemoval(clinic_id=clinic.id, document_id=document_id, actor=cli_actor())
        )

    removed = run_local(settings, work)
    typer.echo(f"Removido: {removed.title}.")
