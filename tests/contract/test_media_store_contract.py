"""The media store contract: the local directory and the memory store behave alike."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from porfin_adapters.files.media import FileMediaStore
from porfin_adapters.memory.media import MemoryMediaStore
from porfin_core.domain.media import MediaKind, StoredMedia
from porfin_core.errors import Conflict, NotFound, StorageUnavailable, ValidationError

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 600  # ~150 KB: several chunks


def media(data: bytes = PNG, media_id: str = "m1", clinic_id: str = "clinic1") -> StoredMedia:
    return StoredMedia(
        id=media_id,
        clinic_id=clinic_id,
        kind=MediaKind.IMAGE,
        mime_type="image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        filename="raio-x panorâmico.png",
        uploaded_by="ana",
        created_at=datetime(2026, 11, 25, 13, 0, tzinfo=UTC),
    )


@pytest.fixture(params=["memory", "files"])
def store(request, tmp_path) -> Iterator:
    if request.param == "memory":
        yield MemoryMediaStore()
    else:
        yield FileMediaStore(tmp_path / "media")


async def _joined(store, clinic_id, media_id, chunk_size=65_536) -> bytes:
    return b"".join([chunk async for chunk in store.chunks(clinic_id, media_id, chunk_size)])


async def test_a_file_round_trips_with_its_description(store):
    await store.put(media(), PNG)
    assert await store.info("clinic1", "m1") == media()
    assert await store.read("clinic1", "m1") == PNG
    assert await _joined(store, "clinic1", "m1") == PNG
    chunks = [c async for c in store.chunks("clinic1", "m1", 10_000)]
    assert max(len(c) for c in chunks) == 10_000
    assert len(chunks) == -(-len(PNG) // 10_000)


async def test_files_are_scoped_to_their_clinic(store):
    await store.put(media(), PNG)
    for call in (store.info, store.read, lambda c, m: _joined(store, c, m)):
        with pytest.raises(NotFound):
            await call("clinic2", "m1")
    await store.delete("clinic2", "m1")  # another clinic's delete touches nothing
    assert await store.read("clinic1", "m1") == PNG


async def test_unknown_and_malformed_ids_are_not_found(store):
    await store.put(media(), PNG)
    for clinic_id, media_id in [
        ("clinic1", "nope"),
        ("clinic1", "../clinic1/m1"),
        ("clinic1", "m1.bin"),
        ("..", "m1"),
        ("clinic1/../clinic1", "m1"),
        ("clinic1", ""),
        ("clinic1", "m1\x00"),
    ]:
        with pytest.raises(NotFound):
            await store.info(clinic_id, media_id)
        with pytest.raises(NotFound):
            await store.read(clinic_id, media_id)
        with pytest.raises(NotFound):
            await _joined(store, clinic_id, media_id)
        await store.delete(clinic_id, media_id)  # nothing to delete: no error


async def test_ids_that_could_name_a_path_are_refused_on_put(store):
    for bad in ("../escape", "a/b", "a.b", "", "x" * 129):
        with pytest.raises(ValidationError):
            await store.put(media(media_id=bad), PNG)
        with pytest.raises(ValidationError):
            await store.put(media(clinic_id=bad), PNG)


async def test_an_id_is_written_once_and_the_size_must_match(store):
    await store.put(media(), PNG)
    with pytest.raises(Conflict):
        await store.put(media(data=b"\x89PNG other"), b"\x89PNG other")
    assert await store.read("clinic1", "m1") == PNG
    with pytest.raises(ValidationError):
        await store.put(media(media_id="m2"), PNG[:-1])
    with pytest.raises(NotFound):
        await store.info("clinic1", "m2")


async def test_delete_forgets_the_file_and_is_idempotent(store):
    await store.put(media(), PNG)
    await store.put(media(media_id="m2"), PNG)
    await store.delete("clinic1", "m1")
    await store.delete("clinic1", "m1")
    with pytest.raises(NotFound):
        await store.read("clinic1", "m1")
    assert await store.read("clinic1", "m2") == PNG


async def test_files_on_disk_are_private_and_written_whole(tmp_path):
    root = tmp_path / "media"
    store = FileMediaStore(root)
    await store.put(media(), PNG)
    folder = root / "clinic1"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["m1.bin", "m1.json"]  # no temp files
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (folder / "m1.bin").read_bytes() == PNG
    # A second process sees the same files.
    assert await FileMediaStore(root).read("clinic1", "m1") == PNG


async def test_bytes_without_a_description_do_not_exist(tmp_path):
    """A crash between the two atomic writes leaves bytes nobody can reach."""
    root = tmp_path / "media"
    store = FileMediaStore(root)
    await store.put(media(), PNG)
    os.unlink(root / "clinic1" / "m1.json")
    with pytest.raises(NotFound):
        await store.read("clinic1", "m1")
    await store.put(media(), PNG)  # the id can be written again
    assert await store.read("clinic1", "m1") == PNG


async def test_a_symlinked_root_still_confines_paths(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    store = FileMediaStore(link)
    await store.put(media(), PNG)
    assert await store.read("clinic1", "m1") == PNG


async def test_a_link_planted_in_the_store_is_never_followed(tmp_path):
    root = tmp_path / "media"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "m1.json").write_text("{}")
    root.mkdir()
    (root / "clinic1").symlink_to(outside)
    store = FileMediaStore(root)
    with pytest.raises(StorageUnavailable):
        await store.info("clinic1", "m1")
    with pytest.raises(StorageUnavailable):
        await store.put(media(media_id="m2"), PNG)
    with pytest.raises(StorageUnavailable):
        await store.delete("clinic1", "m1")
    assert sorted(p.name for p in outside.iterdir()) == ["m1.json"]
