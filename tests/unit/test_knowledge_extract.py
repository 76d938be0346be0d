"""Reading uploads into text: PDF, DOCX, XLSX, CSV, TXT and Markdown, built here by the
libraries that write them (the PDF by hand), and clear refusals of what cannot be read."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest
from pypdf import PdfReader, PdfWriter

from porfin_adapters.knowledge.extract import DocumentTextExtractor, format_of
from porfin_core.errors import UnsupportedMediaType, ValidationError

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A one-page PDF whose text is ``lines`` (Helvetica, WinAnsi: accents included)."""

    def literal(text: str) -> bytes:
        raw = text.encode("cp1252")
        return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"

    ops = [b"BT /F1 12 Tf 14 TL 72 720 Td"]
    for line in lines:
        ops.append(literal(line) + b" Tj T*")
    ops.append(b"ET")
    stream = b"\n".join(ops)
    info = b"<< /Title " + literal(title) + b" >>" if title else b"<< >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        info,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Manual do paciente"
    document.add_heading("Convênios", level=1)
    document.add_paragraph("Aceitamos Amil Dental e OdontoPrev.")
    document.add_paragraph("Traga a carteirinha", style="List Bullet")
    document.add_heading("Preços", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, (name, value) in zip(
        table.rows,
        [("Procedimento", "Valor"), ("Limpeza", "R$ 180,00"), ("Clareamento", "R$ 900,00")],
        strict=True,
    ):
        row.cells[0].text, row.cells[1].text = name, value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Preços"
    sheet.append(["Tabela 2026"])
    sheet.append(["Procedimento", "Valor", "Sessões"])
    sheet.append(["Limpeza (profilaxia)", 180, 1])
    sheet.append(["Clareamento a laser", 1200.5, None])
    sheet.append([None, None, None])
    other = workbook.create_sheet("Convênios")
    other.append(["Plano", "Aceito"])
    other.append(["Amil Dental", True])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def extract(filename, data, media_type=None):
    return await DocumentTextExtractor().extract(filename, media_type, data)


async def test_a_pdf_gives_its_text_and_title():
    found = await extract("precos.pdf", make_pdf(["Limpeza R$ 180,00", "Extração"], "Preços"))
    assert found.title == "Preços"
    assert "Limpeza R$ 180,00" in found.text
    assert "Extração" in found.text


async def test_a_word_document_gives_headings_lists_and_table_rows():
    found = await extract("manual.docx", make_docx(), DOCX)
    assert found.title == "Manual do paciente"
    lines = found.text.split("\n")
    assert "# Convênios" in lines
    assert "## Preços" in lines
    assert "- Traga a carteirinha" in lines
    assert "Procedimento: Limpeza; Valor: R$ 180,00" in lines


async def test_a_spreadsheet_row_is_a_line_with_its_headers_and_each_sheet_a_heading():
    found = await extract("tabela.xlsx", make_xlsx())
    lines = found.text.split("\n")
    assert "# Preços" in lines and "# Convênios" in lines
    assert "Tabela 2026" in lines
    assert "Procedimento: Limpeza (profilaxia); Valor: 180; Sessões: 1" in lines
    assert "Procedimento: Clareamento a laser; Valor: 1.200,50" in lines
    assert "Plano: Amil Dental; Aceito: sim" in lines


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("Procedimento;Valor\nExtração de siso;R$ 450,00\n", "utf-8"),
        ("Procedimento;Valor\nExtração de siso;R$ 450,00\n", "cp1252"),
        ('Procedimento,Valor\n"Extração de siso","R$ 450,00"\n', "utf-8-sig"),
    ],
)
async def test_csv_in_either_delimiter_and_encoding(content, encoding):
    found = await extract("precos.csv", content.encode(encoding))
    assert found.text == "Procedimento: Extração de siso; Valor: R$ 450,00"


async def test_text_and_markdown():
    assert (await extract("a.txt", "Olá, clínica\n".encode())).text == "Olá, clínica"
    md = await extract("faq.md", b"# FAQ da cl\xc3\xadnica\n\n## Onde fica?\n\nRua A.")
    assert md.title == "FAQ da clínica"
    assert "## Onde fica?" in md.text


def test_the_format_comes_from_the_type_or_else_the_extension():
    assert format_of("x.bin", "application/pdf") == "application/pdf"
    assert format_of("precos.CSV", "application/octet-stream") == "text/csv"
    assert format_of("precos.csv", None) == "text/csv"
    assert format_of("faq.md", "text/plain; charset=utf-8") == "text/plain"
    for name, media_type in [("foto.png", "image/png"), ("a.doc", None), ("x", None)]:
        with pytest.raises(UnsupportedMediaType):
            format_of(name, media_type)
    with pytest.raises(UnsupportedMediaType, match="docx"):
        format_of("antigo.doc", "application/msword")


def _encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["segredo"]))))
    writer.encrypt("senha-forte")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("a.pdf", b"", "empty"),
        ("a.pdf", b"not a pdf at all", "not a PDF"),
        ("a.pdf", b"%PDF-1.4\n garbage", "corrupt"),
        ("a.pdf", make_pdf([]), "no text"),
        ("a.docx", b"PK\x03\x04 broken zip", "corrupt"),
        ("a.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "password"),
        ("a.xlsx", b"plain text", "not a valid Excel"),
        ("a.txt", b"\x00\x01\x02binary", "binary"),
        ("a.csv", b"   \n\n", "no text"),
    ],
)
async def test_unreadable_files_are_refused_with_a_reason(filename, data, message):
    with pytest.raises(ValidationError, match=message):
        await extract(filename, data)


async def test_a_password_protected_pdf_is_refused():
    with pytest.raises(ValidationError, match="password"):
        await extract("a.pdf", _encrypted_pdf())
