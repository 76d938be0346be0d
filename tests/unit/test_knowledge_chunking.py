"""Cutting documents into chunks: sections first, records whole, prose by sentences, never
inside a word, a small overlap between prose chunks."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from porfin_core.domain.knowledge import CHUNK_MAX, chunk_sections, chunk_text

SENTENCE = (
    "O paciente deve evitar alimentos duros e quentes nas primeiras horas após o procedimento."
)


def test_sections_are_never_mixed_and_keep_their_heading_path():
    text = (
        "# Perguntas frequentes\n\n## Convênios\n\nAceitamos Amil.\n\n"
        "### Reembolso\n\nEmitimos recibo.\n\n## Estacionamento\n\nNo prédio."
    )
    drafts = chunk_sections(text)
    assert [(d.heading, d.text) for d in drafts] == [
        ("Convênios", "Aceitamos Amil."),
        ("Convênios › Reembolso", "Emitimos recibo."),
        ("Estacionamento", "No prédio."),
    ]


def test_numbered_lines_in_capitals_are_headings_of_plain_text():
    text = "1. CANCELAMENTO\nAvise com 24 horas.\n\n2. ATRASOS\nToleramos 15 minutos."
    assert [(d.heading, d.text) for d in chunk_sections(text)] == [
        ("1. CANCELAMENTO", "Avise com 24 horas."),
        ("2. ATRASOS", "Toleramos 15 minutos."),
    ]


def test_long_prose_is_cut_between_sentences_within_the_limits_with_an_overlap():
    text = " ".join([SENTENCE] * 40)
    chunks = chunk_text(text)
    assert len(chunks) > 3
    assert all(len(c) <= CHUNK_MAX for c in chunks)
    assert all(len(c) >= 500 for c in chunks[:-1])
    assert all(c.startswith("O paciente") and c.endswith("procedimento.") for c in chunks)
    # the next chunk starts with the sentence the previous one ended with
    assert sum(c.count(SENTENCE) for c in chunks) == 40 + len(chunks) - 1


def test_rows_stay_whole_and_are_never_merged_into_one_line():
    rows = [f"Procedimento: Item {i}; Valor: R$ {i}0,00" for i in range(60)]
    chunks = chunk_text("\n".join(rows))
    assert len(chunks) > 1
    lines = [line for chunk in chunks for line in chunk.split("\n")]
    assert lines == rows  # each row once, whole, in order (no overlap between records)


def test_a_sentence_longer_than_a_chunk_is_cut_between_words():
    words = [f"palavra{i}" for i in range(400)]
    chunks = chunk_text(" ".join(words))
    assert all(len(c) <= CHUNK_MAX for c in chunks)
    assert " ".join(chunks).split() == words


def test_nothing_to_cut():
    assert chunk_text("") == []
    assert chunk_text("\n\n   \n# Só um título\n") == []


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcçãé \n.#R$:;-1"), max_size=3000))
def test_every_word_survives_and_no_chunk_is_over_the_limit(text):
    chunks = chunk_text(text)
    assert all(len(c) <= CHUNK_MAX or " " not in c for c in chunks)
    kept = set(" ".join(chunks).split())
    # Every word of the body is in some chunk (heading lines become headings).
    body = "\n".join(line for line in text.split("\n") if not re.match(r"^\s{0,3}#{1,6}\s", line))
    for word in body.split():
        if not word.startswith("#"):
            assert word in kept or word in " ".join(d.heading or "" for d in chunk_sections(text))


def test_a_chunk_too_short_to_close_is_filled_with_the_next_sentences_first_words():
    long_sentence = " ".join(["palavra"] * 55) + "."  # 440 characters
    text = " ".join([long_sentence] * 4)
    chunks = chunk_text(text)
    assert all(500 <= len(c) <= CHUNK_MAX for c in chunks[:-1])
    assert " ".join(chunks).split() == text.split()  # nothing lost, nothing repeated, no cut
