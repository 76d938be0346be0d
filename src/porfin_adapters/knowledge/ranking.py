"""Ranking chunks for a question, in two steps every knowledge base shares (so they answer
alike; the contract suite checks it):

1. :func:`rank`: BM25F over two fields, the chunk's text and its heading (document title
   and section heading), the heading weighing :data:`HEADING_WEIGHT` times as much; the best
   :data:`RERANK_WINDOW` go on.
2. :func:`rerank`: each candidate's best line (a table row, a sentence), read with the
   chunk's heading as its context, is found; the score is multiplied by
   ``(1 + coverage)²``, coverage being the share of the question's terms that this one line
   holds. So "quanto custa o clareamento" prefers the price-table row naming the clareamento
   and its price over a paragraph about the clareamento that has no price: BM25 alone sees two
   chunks that each match the question somewhere, the line sees which one answers it.
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import attrs

from porfin_adapters.knowledge.analysis import PortugueseAnalyzer
from porfin_core.domain.knowledge import KnowledgeChunk

K1 = 1.2
"""Term-frequency saturation."""
BODY_B = 0.75
"""Length normalization of the text."""
HEADING_B = 0.3
"""Length normalization of the heading (titles are short; a long one is barely penalized)."""
HEADING_WEIGHT = 2.0
"""A word in the title or section heading counts as much as this many in the text."""
SNIPPET_MAX = 300
"""Longest snippet (a longer line is cut between words)."""
RERANK_WINDOW = 20
"""Candidates of BM25 that the line-level step reads again."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@attrs.frozen
class IndexedChunk:
    """A chunk's term counts per field and the fields' lengths in tokens."""

    body: Mapping[str, int]
    heading: Mapping[str, int]
    body_length: int
    heading_length: int


class Posting(NamedTuple):
    """One chunk's counts of one term, the chunk known by the adapter's integer ``key``
    (any tuple in this order will do: SQLite's rows are used as they come, since a search
    reads thousands)."""

    key: int
    body_tf: int
    heading_tf: int
    body_length: int
    heading_length: int


@attrs.frozen
class CollectionStats:
    """A clinic's chunks: how many, and their total lengths per field."""

    chunks: int
    body_length: int
    heading_length: int


def index_chunk(analyzer: PortugueseAnalyzer, title: str, chunk: KnowledgeChunk) -> IndexedChunk:
    """What the knowledge base keeps of ``chunk`` of a document called ``title``."""
    body = analyzer.tokens(chunk.text)
    heading = analyzer.tokens(f"{title}\n{chunk.heading or ''}")
    return IndexedChunk(Counter(body), Counter(heading), len(body), len(heading))


def idf(chunks: int, df: int) -> float:
    """BM25's inverse document frequency (never negative)."""
    return math.log(1 + (chunks - df + 0.5) / (df + 0.5))


def rank(
    terms: Iterable[str],
    postings: Mapping[str, Sequence[tuple[int, int, int, int, int]]],
    stats: CollectionStats,
    limit: int,
) -> tuple[list[tuple[int, float]], dict[str, float]]:
    """The ``limit`` best chunks by BM25F for the query ``terms`` (distinct), best first
    (ties: the lower key first), and the idf of each term found (for :func:`rerank`).

    Args:
        terms: The query's terms (:meth:`PortugueseAnalyzer.terms`).
        postings: For each term, the chunks that contain it (:class:`Posting` fields).
        stats: The clinic's chunk count and total lengths.
        limit: How many chunks at most.
    """
    if stats.chunks == 0:
        return [], {}
    avg_body = max(stats.body_length / stats.chunks, 1.0)
    avg_heading = max(stats.heading_length / stats.chunks, 1.0)
    scores: dict[int, float] = {}
    weights: dict[str, float] = {}
    for term in dict.fromkeys(terms):
        found = postings.get(term, ())
        if not found:
            continue
        weight = idf(stats.chunks, len(found))
        weights[term] = weight
        for key, body_tf, heading_tf, body_length, heading_length in found:
            tf = body_tf / (1 - BODY_B + BODY_B * body_length / avg_body)
            if heading_tf:
                norm = 1 - HEADING_B + HEADING_B * heading_length / avg_heading
                tf += HEADING_WEIGHT * heading_tf / norm
            scores[key] = scores.get(key, 0.0) + weight * tf * (K1 + 1) / (tf + K1)
    best = heapq.nsmallest(limit, scores.items(), key=lambda item: (-item[1], item[0]))
    return best, weights


def rerank(
    analyzer: PortugueseAnalyzer,
    candidates: Iterable[tuple[int, float, str, str]],
    terms: Iterable[str],
    weights: Mapping[str, float],
    limit: int,
) -> list[tuple[int, float, str]]:
    """The ``limit`` best of ``candidates`` (key, BM25 score, heading context, text) as
    (key, score, snippet), best first (ties: the lower key first).

    The snippet is the line (or sentence of a long line) of the text holding the most of
    the question's terms (then the most idf), cut to :data:`SNIPPET_MAX` characters between
    words; the score is the BM25 score times ``(1 + coverage)²`` (see the module).
    """
    wanted = [term for term in dict.fromkeys(terms) if term in weights]
    found = []
    for key, score, heading, text in candidates:
        context = set(analyzer.tokens(heading)) if heading else set()
        snippet, matched = _best_line(analyzer, text, wanted, weights, context)
        coverage = matched / len(wanted) if wanted else 0.0
        found.append((key, score * (1 + coverage) ** 2, snippet))
    found.sort(key=lambda item: (-item[1], item[0]))
    return found[:limit]


def _best_line(
    analyzer: PortugueseAnalyzer,
    text: str,
    wanted: list[str],
    weights: Mapping[str, float],
    context: set[str],
) -> tuple[str, int]:
    """The line that answers best and how many of the wanted terms it holds with its
    context. Lines are compared by: terms held with the context, terms held by the line
    itself (the heading is every line's), their weight, then the fewest words (the most
    specific row: "canal molar" before "canal pré-molar" for "canal do molar"; numbers
    aside)."""
    best, best_rank, best_count = "", (-1, -1, -1.0, 0), 0
    for piece, own, words in _pieces(analyzer, text):
        held = [term for term in wanted if term in own or term in context]
        by_itself = sum(term in own for term in wanted)
        rank_ = (len(held), by_itself, sum(weights[term] for term in held), -words)
        if rank_ > best_rank:
            best, best_rank, best_count = piece, rank_, len(held)
    if len(best) > SNIPPET_MAX:
        best = best[:SNIPPET_MAX].rsplit(" ", 1)[0] + "…"
    return best, best_count


@functools.lru_cache(maxsize=20_000)
def _pieces(analyzer: PortugueseAnalyzer, text: str) -> tuple[tuple[str, frozenset[str], int], ...]:
    """The lines of a chunk's text (long ones by sentence) with their tokens and word counts
    (numbers aside). Cached: chunks never change, and the same ones answer question after
    question."""
    found = []
    for line in text.split("\n"):
        pieces = _SENTENCE_END.split(line) if len(line) > SNIPPET_MAX else [line]
        for piece in pieces:
            piece = piece.strip()
            if piece:
                own = frozenset(analyzer.tokens(piece))
                found.append((piece, own, sum(not token.isdigit() for token in own)))
    return tuple(found)
