"""The knowledge base through the API: upload, list, search, remove, who may, and limits."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import AUTH, _bearer, _login

KB = Path(__file__).resolve().parents[1] / "data" / "assistant" / "kb"
PROBLEM = "application/problem+json"


async def upload(api, name, data=None, content_type="application/octet-stream", **form):
    data = (KB / name).read_bytes() if data is None else data
    return await api.post(
        "/api/v1/knowledge/documents",
        files={"file": (name, data, content_type)},
        data=form,
        headers=form.pop("headers", None) or AUTH,
    )


async def test_a_manager_uploads_and_anyone_allowed_searches_lists_and_removes(api):
    manager = _bearer((await _login(api, "manager@clinica.com.br")).json())
    added = await api.post(
        "/api/v1/knowledge/documents",
        files={"file": ("tabela-precos.csv", (KB / "tabela-precos.csv").read_bytes(), "text/csv")},
        data={"title": "Tabela de preços 2026"},
        headers=manager,
    )
    assert added.status_code == 201, added.text
    document = added.json()
    assert (document["title"], document["media_type"], document["created_by"]) == (
        "Tabela de preços 2026",
        "text/csv",
        api.users["manager@clinica.com.br"].id,
    )
    assert document["chunk_count"] >= 3
    assert (await upload(api, "faq.md")).status_code == 201
    again = await upload(api, "tabela-precos.csv")
    assert again.status_code == 200
    assert again.json()["id"] == document["id"]

    listed = (await api.get("/api/v1/knowledge/documents", headers=manager)).json()
    assert [d["filename"] for d in listed] == ["faq.md", "tabela-precos.csv"]

    found = await api.get(
        "/api/v1/knowledge/search",
        params={"q": "qual o valor da profilaxia", "limit": 2},
        headers=manager,
    )
    assert found.status_code == 200, found.text
    best, *rest = found.json()
    assert len(rest) <= 1
    assert best["document_title"] == "Tabela de preços 2026"
    assert best["snippet"].startswith("Procedimento: Limpeza (profilaxia)")
    assert "R$ 180,00" in best["text"]

    gone = await api.delete(f"/api/v1/knowledge/documents/{document['id']}", headers=manager)
    assert gone.status_code == 204
    after = await api.get("/api/v1/knowledge/search", params={"q": "profilaxia"}, headers=AUTH)
    assert all(r["document_id"] != document["id"] for r in after.json())
    missing = await api.delete(f"/api/v1/knowledge/documents/{document['id']}", headers=AUTH)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    audit = (await api.get("/api/v1/audit?resource_type=knowledge_document", headers=AUTH)).json()
    assert sorted(r["action"] for r in audit["items"]) == [
        "knowledge.add",
        "knowledge.add",
        "knowledge.remove",
    ]


async def test_a_secretary_may_not_touch_the_knowledge_base(api):
    secretary = _bearer((await _login(api, "secretary@clinica.com.br")).json())
    refused = await upload(api, "faq.md", headers=secretary)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)
    listed = await api.get("/api/v1/knowledge/documents", headers=secretary)
    assert listed.status_code == 403


async def test_bad_uploads_and_queries_are_problems(api):
    image = await upload(api, "foto.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    assert (image.status_code, image.json()["code"]) == (415, "unsupported_media_type")
    corrupt = await upload(api, "precos.pdf", b"%PDF-1.4 broken", "application/pdf")
    assert (corrupt.status_code, corrupt.json()["code"]) == (422, "validation_error")
    empty = await upload(api, "vazio.txt", b"", "text/plain")
    assert empty.status_code in (400, 422)
    big = await upload(api, "grande.txt", b"a " * (5 * 1024 * 1024 + 1), "text/plain")
    assert (big.status_code, big.json()["code"]) == (413, "payload_too_large")
    blank = await api.get("/api/v1/knowledge/search", params={"q": " "}, headers=AUTH)
    assert blank.status_code in (400, 422)
    assert (await api.get("/api/v1/knowledge/search", headers=AUTH)).status_code == 400
    nothing = await api.get("/api/v1/knowledge/search", params={"q": "xilofone"}, headers=AUTH)
    assert nothing.json() == []
