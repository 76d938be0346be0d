"""The secret store contract: files in the data directory and the memory store behave alike."""

from __future__ import annotations

import stat
from collections.abc import Iterator

import pytest

from porfin_adapters.files.secrets import FileSecretStore
from porfin_adapters.memory.secrets import MemorySecretStore
from porfin_adapters.stores import CachedSecretStore
from porfin_core.domain.channel import SecretRef
from porfin_core.errors import Conflict, NotFound, ValidationError

TOKEN = "EAAG" + "x" * 200 + "ÁÇ"


@pytest.fixture(params=["memory", "files", "cached files"])
def store(request, tmp_path) -> Iterator:
    if request.param == "memory":
        yield MemorySecretStore()
    elif request.param == "files":
        yield FileSecretStore(tmp_path / "secrets")
    else:
        yield CachedSecretStore(FileSecretStore(tmp_path / "secrets"))


async def test_a_secret_round_trips_through_its_reference(store):
    ref = await store.put("k1", TOKEN)
    assert isinstance(ref, SecretRef)
    assert TOKEN not in ref.ref and ref.hint is None
    assert await store.get(ref) == TOKEN
    assert await store.get(SecretRef(ref.ref, hint="whatever")) == TOKEN  # the hint is no key


async def test_keys_are_written_once(store):
    ref = await store.put("k1", TOKEN)
    with pytest.raises(Conflict):
        await store.put("k1", "another")
    assert await store.get(ref) == TOKEN


async def test_bad_keys_and_empty_values_are_refused(store):
    for key in ("", "../k", "a/b", "a.b", "x" * 129):
        with pytest.raises(ValidationError):
            await store.put(key, TOKEN)
    with pytest.raises(ValidationError):
        await store.put("k1", "")


async def test_unknown_deleted_and_foreign_references_are_not_found(store):
    ref = await store.put("k1", TOKEN)
    await store.delete(ref)
    await store.delete(ref)  # idempotent
    for missing in (ref, SecretRef("store:nope"), SecretRef("env:HOME"), SecretRef("../k1")):
        with pytest.raises(NotFound):
            await store.get(missing)
        await store.delete(missing)


async def test_secrets_on_disk_are_private(tmp_path):
    root = tmp_path / "secrets"
    store = FileSecretStore(root)
    ref = await store.put("k1", TOKEN)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert [p.name for p in root.iterdir()] == ["k1"]  # no temporary files left
    assert stat.S_IMODE((root / "k1").stat().st_mode) == 0o600
    assert await FileSecretStore(root).get(ref) == TOKEN  # another process reads it


async def test_a_too_open_directory_is_made_private(tmp_path):
    root = tmp_path / "secrets"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    await FileSecretStore(root).put("k1", TOKEN)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
