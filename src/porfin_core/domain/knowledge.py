"""The clinic's knowledge base: documents staff upload (price tables, FAQs, policies) cut
into chunks the AI receptionist retrieves to answer patients.

A document is read into text once (``TextExtractor``) and cut into chunks here
(:func:`chunk_sections`): first at headings (Markdown ``#`` lines, which the extractors also
write for Word headings and spreadsheet sheets, and short lines in capitals), then into
paragraphs, sentences and, last resort, words, packed into chunks of about
:data:`CHUNK_MIN`-:data:`CHUNK_MAX` characters. A word is never cut. A line that is a record
(a spreadsheet row written ``Header: value; Header: value``, a price-table line with ``R$``, a
list item) is never split nor merged with another into one line: it stays whole, with its
headers, in one chunk, and chunks of records stop at :data:`RECORDS_MAX`. Consecutive prose
chunks overlap by one short sentence, so a fact at a border is found with its context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import attrs

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
"""Largest file the knowledge base takes (10 MiB)."""
MAX_TITLE_LENGTH = 200
"""Longest document title."""
CHUNK_MIN = 500
"""A chunk is filled up to at least this many characters when its section has them."""
CHUNK_MAX = 900
"""No chunk is longer, except a single word that is longer by itself."""
RECORDS_MAX = 600
"""A chunk of records (table rows) stops growing here: a row is a fact of its own, and a
shorter chunk lets the row that answers weigh more."""
OVERLAP_MAX = 200
"""The longest sentence repeated at the start of the next prose chunk."""

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
# A line in capitals, perhaps numbered ("2. CANCELAMENTO E REMARCAÇÃO"): plain text's heading.
_CAPS_HEADING = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})*[.)]?\s+)?[^a-zà-ÿ]{4,80}$")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'“(\[]?[A-ZÀ-Ý0-9])")
_RECORD = re.compile(r"^\s*(?:[-*•+]\s|\d{1,3}[.)]\s|\|)|R\$|:\s.*;\s*\S+:\s")
_SPACES = re.compile(r"[ \t\f\v]+")


@attrs.frozen(kw_only=True)
class KnowledgeDocument:
    """A file in a clinic's knowledge base (its text lives in its chunks).

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic it belongs to; no other clinic retrieves from it.
        title: What staff call it ("Tabela de preços"); shown with every retrieved chunk.
        filename: The name it was uploaded with.
        media_type: Its MIME type (``application/pdf``, ``text/csv``...).
        size_bytes: Size of the uploaded file.
        sha256: Hex SHA-256 of the file: the same file is not added twice.
        chunk_count: How many chunks it was cut into.
        created_at: When it was added (timezone-aware).
        created_by: The staff user who added it (None: the system or the CLI).
    """

    id: str
    clinic_id: str
    title: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    chunk_count: int
    created_at: datetime
    created_by: str | None = None


@attrs.frozen(kw_only=True)
class KnowledgeChunk:
    """A passage of a document, the unit retrieval finds.

    Attributes:
        id: Stable identifier.
        document_id: The document it was cut from.
        clinic_id: The document's clinic.
        ordinal: Its position in the document (0, 1, 2...).
        text: The passage.
        heading: The heading of the section it belongs to, if any.
    """

    id: str
    document_id: str
    clinic_id: str
    ordinal: int
    text: str
    heading: str | None = None


@attrs.frozen(kw_only=True)
class ChunkDraft:
    """A chunk before it has ids: its section's heading and its text."""

    text: str
    heading: str | None = None


def chunk_text(text: str) -> list[str]:
    """The chunks of ``text`` (see :func:`chunk_sections`), without their headings."""
    return [draft.text for draft in chunk_sections(text)]


def chunk_sections(text: str) -> list[ChunkDraft]:
    """Cut ``text`` into chunks of about :data:`CHUNK_MIN` to :data:`CHUNK_MAX` characters.

    Sections (delimited by Markdown headings) are never mixed in one chunk, so a short
    section is a short chunk; records (spreadsheet rows, price lines, list items) stay
    whole; prose is split at paragraphs, then sentences, then words, never inside a word.
    Empty text gives no chunk.
    """
    drafts: list[ChunkDraft] = []
    for heading, body in _sections(text):
        drafts.extend(ChunkDraft(text=chunk, heading=heading) for chunk in _pack(_units(body)))
    return drafts


def _sections(text: str) -> Iterator[tuple[str | None, str]]:
    """(heading, body) pairs; a heading's nested headings start sections of their own, whose
    heading is the path ``Parent › Child`` so a chunk keeps its context. A ``#`` heading on
    the first line is the document's title (``ExtractedText.title``), not a section."""
    path: list[tuple[int, str]] = []
    heading: str | None = None
    lines: list[str] = []
    first = True
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        match = _HEADING.match(line)
        if first and line.strip():
            first = False
            if match is not None and len(match[1]) == 1:
                continue  # the document's title, which every chunk is shown with already
        if match is not None:
            level, name = len(match[1]), match[2]
        elif _is_caps_heading(line):
            level, name = 2, " ".join(line.split())
        else:
            lines.append(line)
            continue
        if "\n".join(lines).strip():
            yield heading, "\n".join(lines)
        lines = []
        path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, name)]
        heading = " › ".join(name for _, name in path)
    if "\n".join(lines).strip():
        yield heading, "\n".join(lines)


def _is_caps_heading(line: str) -> bool:
    """A short line in capitals with at least four letters (and no record punctuation)."""
    if not _CAPS_HEADING.match(line) or ";" in line or "R$" in line:
        return False
    return sum(ch.isalpha() for ch in line) >= 4


@attrs.frozen
class _Unit:
    """A piece that is never split further: a record line, a sentence or a word run."""

    text: str
    prose: bool
    paragraph_start: bool


def _units(body: str) -> list[_Unit]:
    units: list[_Unit] = []
    for paragraph in re.split(r"\n\s*\n", body):
        lines = [_clean(line) for line in paragraph.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        if len(lines) > 1 and sum(bool(_RECORD.search(line)) for line in lines) * 2 >= len(lines):
            units.extend(_Unit(line, False, i == 0) for i, line in enumerate(lines))
            continue
        if len(lines) == 1 and _RECORD.search(lines[0]) and len(lines[0]) <= CHUNK_MAX:
            units.append(_Unit(lines[0], False, True))
            continue
        sentences = _SENTENCE_END.split(" ".join(lines))
        pieces = [piece for sentence in sentences for piece in _words_within(sentence)]
        units.extend(_Unit(piece, True, i == 0) for i, piece in enumerate(pieces))
    return units


def _clean(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


def _words_within(sentence: str) -> list[str]:
    """``sentence`` in pieces of at most :data:`CHUNK_MAX` characters, cut between words."""
    if len(sentence) <= CHUNK_MAX:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for word in sentence.split(" "):
        if current and len(current) + 1 + len(word) > CHUNK_MAX:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def _join(units: list[_Unit]) -> str:
    text = ""
    for unit in units:
        if not text:
            text = unit.text
        elif unit.paragraph_start or not unit.prose:
            text += "\n" + unit.text
        else:
            text += " " + unit.text
    return text


def _pack(units: list[_Unit]) -> list[str]:
    chunks: list[str] = []
    current: list[_Unit] = []
    for unit in units:
        longest = CHUNK_MAX if unit.prose else RECORDS_MAX
        if current and len(_join([*current, unit])) > longest:
            split = False
            size = len(_join(current))
            if unit.prose and current[-1].prose and size < CHUNK_MIN:
                # Too short to close: fill it with the sentence's first words.
                head, tail = _cut(unit.text, CHUNK_MAX - size - 1)
                if head:
                    current.append(attrs.evolve(unit, text=head))
                    unit = attrs.evolve(unit, text=tail, paragraph_start=False)
                    split = True
            chunks.append(_join(current))
            last = current[-1]
            overlap = not split and last.prose and unit.prose and len(last.text) <= OVERLAP_MAX
            carried = [attrs.evolve(last, paragraph_start=True)] if overlap else []
            if carried and len(_join([*carried, unit])) > CHUNK_MAX:
                carried = []
            current = carried
        current.append(unit)
    if current:
        chunks.append(_join(current))
    return chunks


def _cut(text: str, room: int) -> tuple[str, str]:
    """``text`` cut between words into a head of at most ``room`` characters and the rest
    (head empty when the first word does not fit)."""
    if room <= 0:
        return "", text
    head = text[: room + 1].rsplit(" ", 1)[0] if len(text) > room else text
    if len(head) > room or head == text:
        return "", text
    return head, text[len(head) :].lstrip(" ")
