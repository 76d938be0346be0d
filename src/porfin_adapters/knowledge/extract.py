"""Reading uploaded documents into text for the knowledge base: PDF (pypdf), Word DOCX
(python-docx), Excel XLSX (openpyxl), CSV, plain text and Markdown.

The text keeps what retrieval needs: headings become Markdown ``#`` lines (Word headings,
spreadsheet sheets), and each spreadsheet or CSV row becomes one self-contained line
``Header: value; Header: value``, so a price found alone still says what it is the price of.
Library errors never escape: a corrupt, empty or encrypted file is a ``ValidationError``
saying so, an unknown format an ``UnsupportedMediaType``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from porfin_core.errors import UnsupportedMediaType, ValidationError
from porfin_core.ports.knowledge import ExtractedText

MAX_TEXT_CHARS = 3_000_000
"""Most text one document may hold (about 1,500 pages)."""

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
TXT = "text/plain"
MARKDOWN = "text/markdown"

MEDIA_TYPES = {
    PDF: PDF,
    DOCX: DOCX,
    XLSX: XLSX,
    CSV: CSV,
    "application/csv": CSV,
    "text/comma-separated-values": CSV,
    TXT: TXT,
    MARKDOWN: MARKDOWN,
    "text/x-markdown": MARKDOWN,
}
"""Declared types read, and the format each names."""

EXTENSIONS = {
    "pdf": PDF,
    "docx": DOCX,
    "xlsx": XLSX,
    "csv": CSV,
    "txt": TXT,
    "text": TXT,
    "md": MARKDOWN,
    "markdown": MARKDOWN,
}
"""File extensions read, and the format each names."""

_OLD_FORMATS = {
    "doc": "save it as .docx",
    "xls": "save it as .xlsx",
    "application/msword": "save it as .docx",
    "application/vnd.ms-excel": "save it as .xlsx",
}
_GENERIC = {"application/octet-stream", "binary/octet-stream", "application/zip"}


def format_of(filename: str, media_type: str | None) -> str:
    """The format to read: the declared type when it is one the knowledge base reads (a
    generic type defers to the extension), else the file's extension.

    Raises:
        UnsupportedMediaType: neither names a format read here.
    """
    declared = (media_type or "").split(";", 1)[0].strip().lower()
    if declared in MEDIA_TYPES:
        return MEDIA_TYPES[declared]
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if (not declared or declared in _GENERIC or declared.startswith("text/")) and (
        extension in EXTENSIONS
    ):
        return EXTENSIONS[extension]
    hint = _OLD_FORMATS.get(declared) or _OLD_FORMATS.get(extension)
    raise UnsupportedMediaType(
        f"the knowledge base reads PDF, DOCX, XLSX, CSV, TXT and Markdown files, not "
        f"{declared or extension or 'this file'}" + (f" ({hint})" if hint else ""),
        field="file",
        media_type=declared or None,
    )


class DocumentTextExtractor:
    """The knowledge base's :class:`~porfin_core.ports.knowledge.TextExtractor`: parses in a
    worker thread, so a large file does not stall the event loop."""

    async def extract(self, filename: str, media_type: str | None, data: bytes) -> ExtractedText:
        """See :class:`~porfin_core.ports.knowledge.TextExtractor`."""
        kind = format_of(filename, media_type)
        extracted = await asyncio.to_thread(extract_text, kind, data)
        return ExtractedText(title=extracted.title, text=extracted.text, media_type=kind)


def extract_text(kind: str, data: bytes) -> ExtractedText:
    """The text of ``data`` read as ``kind`` (one of the formats of :data:`MEDIA_TYPES`).

    Raises:
        ValidationError: empty, corrupt, encrypted, or too much text.
    """
    if not data:
        raise ValidationError("the file is empty", field="file")
    readers: dict[str, Callable[[bytes], ExtractedText]] = {
        PDF: _pdf,
        DOCX: _docx,
        XLSX: _xlsx,
        CSV: _csv,
        TXT: _plain,
        MARKDOWN: _markdown,
    }
    extracted = readers[kind](data)
    if len(extracted.text) > MAX_TEXT_CHARS:
        raise ValidationError(
            f"the document has more than {MAX_TEXT_CHARS} characters of text; split it",
            field="file",
        )
    if not extracted.text.strip():
        raise ValidationError(
            "no text found in the file (a scanned PDF, an image, or an empty sheet?)",
            field="file",
        )
    return extracted


# -- PDF ---------------------------------------------------------------------------------


def _pdf(data: bytes) -> ExtractedText:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ValidationError("the file is not a PDF (it does not start with %PDF)", field="file")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValidationError(
                "the PDF is protected by a password: save a copy without it", field="file"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata is not None else None
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValidationError(f"the PDF is corrupt or unreadable: {exc}", field="file") from exc
    except NotImplementedError as exc:  # an encryption pypdf cannot open
        raise ValidationError(
            "the PDF is protected in a way that cannot be read: save a copy without protection",
            field="file",
        ) from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    return ExtractedText(title=_clean_title(title), text=text)


# -- Word --------------------------------------------------------------------------------


def _docx(data: bytes) -> ExtractedText:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    _check_zip(data, "Word")
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.append("")
                lines.extend(_records(_table_rows(block)))
                lines.append("")
                continue
            text = " ".join(block.text.split())
            if not text:
                lines.append("")
                continue
            style = (block.style.name if block.style is not None else "") or ""
            level = _heading_level(style)
            if level:
                lines.extend(["", "#" * level + " " + text, ""])
            elif "list" in style.lower():
                lines.append(f"- {text}")
            else:
                lines.extend([text, ""])
        title = document.core_properties.title
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValidationError(
            f"the Word file is corrupt or unreadable: {exc}", field="file"
        ) from exc
    return ExtractedText(title=_clean_title(title), text="\n".join(lines).strip())


def _heading_level(style: str) -> int:
    """1-6 for Word's heading styles (English or Portuguese names, "Title" as 1), else 0."""
    name = style.strip().lower()
    if name in ("title", "título", "titulo"):
        return 1
    for prefix in ("heading", "título", "titulo"):
        if name.startswith(prefix):
            number = name[len(prefix) :].strip()
            if number.isdigit():
                return min(int(number), 6)
    return 0


def _table_rows(table: Any) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # A merged cell repeats in every column it spans: keep it once.
            if not cells or text != cells[-1]:
                cells.append(text)
            else:
                cells.append("")
        rows.append(cells)
    return rows


# -- Excel -------------------------------------------------------------------------------


def _xlsx(data: bytes) -> ExtractedText:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_zip(data, "Excel")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValidationError(
            f"the Excel file is corrupt or unreadable: {exc}", field="file"
        ) from exc
    try:
        sheets = workbook.worksheets
        lines: list[str] = []
        for sheet in sheets:
            rows = [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
            records = _records(rows)
            if not records:
                continue
            if len(sheets) > 1 or not _default_sheet_name(sheet.title):
                lines.extend(["", f"# {sheet.title}", ""])
            lines.extend(records)
        title = workbook.properties.title
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise ValidationError(
            f"the Excel file is corrupt or unreadable: {exc}", field="file"
        ) from exc
    finally:
        workbook.close()
    return ExtractedText(title=_clean_title(title), text="\n".join(lines).strip())


def _default_sheet_name(name: str) -> bool:
    bare = name.strip().lower().rstrip("0123456789").strip()
    return bare in ("sheet", "planilha", "plan", "folha", "hoja")


def _cell(value: object) -> str:
    """A cell as text, numbers the Brazilian way ("1.200,50"; whole numbers bare)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sim" if value else "não"
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") if value.time() else f"{value:%d/%m/%Y}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, float | Decimal | int):
        if isinstance(value, int) or value == int(value):
            return str(int(value))
        whole = f"{value:,.2f}"
        return whole.replace(",", "_").replace(".", ",").replace("_", ".")
    return " ".join(str(value).split())


# -- CSV and text ------------------------------------------------------------------------


def _csv(data: bytes) -> ExtractedText:
    text = _decode(data)
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        delimiter = max(";,\t", key=first.count)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise ValidationError(f"the CSV file is malformed: {exc}", field="file") from exc
    return ExtractedText(title=None, text="\n".join(_records(rows)))


def _plain(data: bytes) -> ExtractedText:
    return ExtractedText(title=None, text=_decode(data).strip())


def _markdown(data: bytes) -> ExtractedText:
    text = _decode(data).strip()
    title = None
    for line in text.split("\n"):
        if line.startswith("# "):
            title = line[2:].strip(" #")
            break
        if line.strip():
            break
    return ExtractedText(title=_clean_title(title), text=text)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252/Latin-1 (Excel's CSV in Brazil)."""
    if b"\x00" in data[:4096]:
        raise ValidationError("the file is binary, not text", field="file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# -- shared ------------------------------------------------------------------------------


def _records(rows: Iterable[list[str]]) -> list[str]:
    """Table rows as lines ``Header: value; Header: value``: the header is the first row
    with two or more values (a title row above it is written as it is); empty cells are
    left out, and a value in a column without a name is written alone."""
    header: list[str] | None = None
    lines: list[str] = []
    for row in rows:
        cells = [" ".join(str(cell).split()) for cell in row]
        values = [cell for cell in cells if cell]
        if not values:
            continue
        if header is None:
            if len(values) >= 2:
                header = cells
            else:
                lines.append(values[0])
            continue
        pairs = []
        for index, value in enumerate(cells):
            if not value:
                continue
            name = header[index] if index < len(header) else ""
            pairs.append(f"{name}: {value}" if name else value)
        lines.append("; ".join(pairs))
    return lines


def _check_zip(data: bytes, what: str) -> None:
    if data[:2] == b"PK":
        return
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValidationError(
            f"the {what} file is password-protected or in the old binary format: save a "
            f"copy without password as .{'docx' if what == 'Word' else 'xlsx'}",
            field="file",
        )
    raise ValidationError(f"the file is not a valid {what} document", field="file")


def _clean_title(title: object) -> str | None:
    if not isinstance(title, str):
        return None
    cleaned = " ".join(title.split())
    return cleaned or None
