"""The Firestore customer list: helper fields saved with each customer and the queries over
them (wired into :class:`porfin_adapters.firestore.storage.FirestoreCustomerRepository`).

Each customer document carries

* ``_facets``: one key per combination of its filterable values, ``s=<stage>``,
  ``t=<tag>`` and ``s=<stage>|t=<tag>`` for each tag (at most 41 keys): any combination of
  the stage and tag filters is one ``array-contains``, ordered by ``_sort_micros``;
* ``_search``: ``n:`` + each prefix (up to 20 characters) of each folded word of the name,
  and ``p:`` + every run of 3 or more consecutive digits of the phone.

A search looks up, with one ``array-contains-any``, the term's longest word (``n:`` key) and
its phone digit forms (``p:`` keys), newest first, and checks the whole rule
(:class:`porfin_adapters.customer_search.CustomerSearch`) and the filters on each document
read, at most 1000 per page: a page may come back short, with a cursor to go on.
"""

from __future__ import annotations

from urllib.parse import quote

from google.cloud.firestore import AsyncCollectionReference, AsyncQuery, FieldFilter

from porfin_adapters.customer_search import NAME, PHONE, CustomerSearch, name_words_of
from porfin_adapters.firestore.storage import (
    Doc,
    Entries,
    SortKey,
    _decode_sort_cursor,
    _encode_sort_cursor,
    _entry,
    _load,
    _newest_first,
    _Session,
    scan_newest_first,
)
from porfin_adapters.text import digits
from porfin_core.domain.customer import Customer
from porfin_core.domain.phone import MIN_SEARCH_DIGITS
from porfin_core.pagination import Page, check_limit, encode_cursor
from porfin_core.ports.storage import CustomerQuery

NAME_PREFIX_CHARS = 20
"""Longest name-word prefix stored; longer words are looked up by their first 20 letters."""
MAX_SCANNED = 1000
"""Documents a search reads per page at most."""


def _facet(name: str, value: str) -> str:
    return f"{name}={quote(value, safe='')}"


def customer_facets(customer: Customer) -> list[str]:
    """The ``_facets`` keys of ``customer`` (see the module docstring)."""
    stage = _facet("s", customer.stage.value)
    tags = [_facet("t", tag) for tag in customer.tags]
    return [stage, *tags, *(f"{stage}|{tag}" for tag in tags)]


def _query_facet(query: CustomerQuery) -> str | None:
    """The facet key every customer matching the filters carries; None without filters."""
    values = []
    if query.stage is not None:
        values.append(_facet("s", query.stage.value))
    if query.tag is not None:
        values.append(_facet("t", query.tag))
    return "|".join(values) if values else None


def customer_search_keys(customer: Customer) -> list[str]:
    """The ``_search`` keys of ``customer`` (see the module docstring)."""
    keys = [
        NAME + word[:end]
        for word in name_words_of(customer.name)
        for end in range(1, min(len(word), NAME_PREFIX_CHARS) + 1)
    ]
    number = digits(customer.phone or "")
    keys += [
        PHONE + number[i:j]
        for i in range(len(number))
        for j in range(i + MIN_SEARCH_DIGITS, len(number) + 1)
    ]
    return list(dict.fromkeys(keys))


def _lookup_keys(search: CustomerSearch) -> list[str]:
    keys = []
    if search.words:
        keys.append(NAME + max(search.words, key=len)[:NAME_PREFIX_CHARS])
    keys += [PHONE + number for number in search.numbers]
    return keys


async def list_customers(session: _Session, query: CustomerQuery) -> Page[Customer]:
    """Customers matching ``query``, newest first (the repository's ``list``).

    Raises:
        ValidationError: bad cursor or page size.
    """
    limit = check_limit(query.limit)
    after = _decode_sort_cursor(query.cursor)
    facet = _query_facet(query)
    customers: AsyncQuery | AsyncCollectionReference = session.sub(query.clinic_id, "customers")
    if not query.search:
        if facet is not None:
            customers = customers.where(filter=FieldFilter("_facets", "array_contains", facet))
        snapshots = await session.query(_newest_first(customers, after, limit + 1))
        return _page([_entry(s) for s in snapshots], limit, None)
    search = CustomerSearch.of(query.search)
    if search.empty:
        return Page([])

    def accept(doc: Doc) -> bool:
        if facet is not None and facet not in doc.get("_facets", ()):
            return False
        return search.matches(doc["name"], doc["phone"])

    found = customers.where(
        filter=FieldFilter("_search", "array_contains_any", _lookup_keys(search))
    )
    entries, stopped_at = await scan_newest_first(
        session, found, after, accept, limit + 1, MAX_SCANNED
    )
    return _page(entries, limit, stopped_at)


def _page(found: Entries, limit: int, stopped_at: SortKey | None) -> Page[Customer]:
    """The first ``limit`` customers of ``found`` and the next page's cursor (resuming where
    an unfinished scan stopped, even after a short page)."""
    page = found[:limit]
    if len(found) > limit:
        next_cursor: str | None = _encode_sort_cursor(page[-1])
    elif stopped_at is not None:
        next_cursor = encode_cursor(*stopped_at)
    else:
        next_cursor = None
    return Page([_load(doc, Customer) for _, doc in page], next_cursor)
