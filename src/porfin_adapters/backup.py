"""Backups of an installation: one ``.tar.gz`` with the records, the data directory's files
and a manifest, made while the server runs, and restored only once verified.

Archive members:

- ``database/porfin.db``: a snapshot of the SQLite database taken through SQLite's online
  backup API (one read transaction: consistent, WAL included, the writer never blocked);
- ``firestore/documents.jsonl``: with Firestore storage, every document of the installation,
  one ``{"path", "data"}`` object per line, paths without the ``firestore_root`` prefix;
- ``files/<path>``: the data directory's files (``admin-token``, ``jwt-secret``, ``secrets/``,
  ``media/``...), without the live database, lock and metric files;
- ``manifest.json`` (last): format, creation time, storage, schema version, rows per table
  (or documents per collection) and the size and SHA-256 of every other member.

A restore extracts into ``<data_dir>/.porfin-restore-<stamp>/``, checks the manifest, every
checksum and (SQLite) ``PRAGMA integrity_check`` and row counts before it touches anything;
then it moves the current contents aside into ``<data_dir>/.porfin-previous-<stamp>/`` and
the new ones in, undoing the moves on any failure. Nothing is deleted: the previous data stays
there until the operator removes it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import attrs

from porfin_adapters.settings import Settings, StorageKind
from porfin_core.errors import Conflict, NotFound, StorageUnavailable, ValidationError

FORMAT = "porfin-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = "database/porfin.db"
FIRESTORE_MEMBER = "firestore/documents.jsonl"
FILES_PREFIX = "files/"
WORK_PREFIX = ".porfin-"
"""Names of what backups and restores leave in the data directory (never backed up)."""

# The live database travels as a snapshot; the lock and the metric files belong to processes.
_SKIPPED = {
    "porfin.db",
    "porfin.db-wal",
    "porfin.db-shm",
    "porfin.db-journal",
    "porfin.db.checkpoint-lock",
    "porfin.db.write-lock",
    "prometheus",
}
_SKIPPED_PREFIXES = (WORK_PREFIX, ".tmp-", "porfin-backup-")
_CHUNK = 1024 * 1024
_MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_FIRESTORE_PAGE = 500
_FIRESTORE_BATCH = 400

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) as work advances."""


class InvalidBackup(ValidationError):
    """The file is not a Porfin backup, or it is damaged (checksum, manifest, database)."""

    code = "invalid_backup"


class RestoreRefused(Conflict):
    """The restore would overwrite data (without ``force``) or a process uses the data."""

    code = "restore_refused"


@attrs.frozen(kw_only=True)
class Member:
    """One archive member as the manifest lists it."""

    name: str
    size: int
    sha256: str


@attrs.frozen(kw_only=True)
class BackupResult:
    """What a backup holds (also what a verified archive's manifest says).

    Attributes:
        path: The archive.
        storage: ``sqlite`` or ``firestore``.
        created_at: When the snapshot was taken (UTC).
        schema_version: The SQLite schema version (migration number); None with Firestore.
        counts: Rows per table (SQLite) or documents per collection (Firestore).
        files: Files of the data directory in the archive.
        size: The archive's size in bytes.
    """

    path: Path
    storage: str
    created_at: datetime
    schema_version: int | None
    counts: dict[str, int]
    files: int
    size: int


@attrs.frozen(kw_only=True)
class RestoreResult:
    """What a restore put back.

    Attributes:
        backup: The verified archive's contents.
        data_dir: Where the files (and the SQLite database) now are.
        previous: Where the replaced data was moved (None when there was none).
    """

    backup: BackupResult
    data_dir: Path
    previous: Path | None


def default_backup_name(now: datetime) -> str:
    """``porfin-backup-YYYYMMDD-HHMMSS.tar.gz`` (local time)."""
    return f"porfin-backup-{now.astimezone():%Y%m%d-%H%M%S}.tar.gz"


def backup_for(settings: Settings) -> SqliteBackup | FirestoreBackup:
    """The backup of the storage ``settings`` name.

    Raises:
        ValidationError: the memory storage keeps nothing to back up.
    """
    if settings.storage is StorageKind.SQLITE:
        return SqliteBackup(settings)
    if settings.storage is StorageKind.FIRESTORE:
        return FirestoreBackup(settings)
    raise ValidationError("the memory storage keeps nothing to back up", field="storage")


# -- the data directory's files ---------------------------------------------------------------


def data_files(data_dir: Path, exclude: Path | None = None) -> list[tuple[Path, str]]:
    """Regular files of the data directory worth keeping, with their archive names."""
    found: list[tuple[Path, str]] = []
    if not data_dir.is_dir():
        return found
    skip = exclude.resolve() if exclude is not None else None
    for folder, dirs, names in os.walk(data_dir):
        here = Path(folder)
        top = here == data_dir
        dirs[:] = sorted(
            d
            for d in dirs
            if not (top and (d in _SKIPPED or d.startswith(_SKIPPED_PREFIXES)))
            and not (here / d).is_symlink()
        )
        for name in sorted(names):
            path = here / name
            if top and (name in _SKIPPED or name.startswith(_SKIPPED_PREFIXES)):
                continue
            if name.startswith(".tmp-") or path.is_symlink() or not path.is_file():
                continue
            if skip is not None and path.resolve() == skip:
                continue
            found.append((path, FILES_PREFIX + path.relative_to(data_dir).as_posix()))
    return found


def _has_data(data_dir: Path) -> bool:
    return data_dir.is_dir() and any(
        not entry.name.startswith(WORK_PREFIX) for entry in data_dir.iterdir()
    )


# -- writing archives -------------------------------------------------------------------------


class _Hashing(io.RawIOBase):
    """A reader that hashes and counts what passes through it."""

    def __init__(self, inner: IO[bytes], on_read: Callable[[int], None] | None = None) -> None:
        self._inner = inner
        self._on_read = on_read
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.digest.update(data)
        self.count += len(data)
        if self._on_read is not None and data:
            self._on_read(len(data))
        return data


class _ArchiveWriter:
    """A ``.tar.gz`` written next to its destination and renamed into place when complete
    (mode 0600: it holds secrets)."""

    def __init__(self, destination: Path, progress: Progress | None, total: int) -> None:
        self.destination = destination
        self.members: list[Member] = []
        self._partial = destination.with_name(f"{WORK_PREFIX}{destination.name}.partial")
        fd = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._raw = os.fdopen(fd, "wb")
        self._tar = tarfile.open(fileobj=self._raw, mode="w:gz", compresslevel=6)  # noqa: SIM115
        self._progress = progress
        self._total = total
        self._done = 0

    def _advance(self, count: int) -> None:
        self._done += count
        if self._progress is not None:
            self._progress(min(self._done, self._total), self._total)

    def add_file(self, path: Path, name: str) -> bool:
        """Add ``path`` as ``name``; False when it vanished meanwhile (a deleted file)."""
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return False
        with handle:
            stat = os.fstat(handle.fileno())
            info = tarfile.TarInfo(name)
            info.size = stat.st_size
            info.mtime = int(stat.st_mtime)
            info.mode = 0o600
            reader = _Hashing(handle, self._advance)
            self._tar.addfile(info, reader)
        self.members.append(Member(name=name, size=info.size, sha256=reader.digest.hexdigest()))
        return True

    def add_bytes(self, data: bytes, name: str) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(datetime.now(UTC).timestamp())
        info.mode = 0o600
        self._tar.addfile(info, io.BytesIO(data))

    def finish(self, manifest: dict[str, Any]) -> int:
        """Write the manifest, close, fsync and rename into place; returns the size."""
        manifest["members"] = [attrs.asdict(m) for m in self.members]
        self.add_bytes(json.dumps(manifest, ensure_ascii=False, indent=2).encode(), MANIFEST)
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._partial, self.destination)
        return self.destination.stat().st_size

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._tar.close()
        with contextlib.suppress(Exception):
            self._raw.close()
        with contextlib.suppress(FileNotFoundError):
            self._partial.unlink()


def _manifest(
    storage: str, created_at: datetime, schema_version: int | None, counts: dict[str, int]
) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        porfin_version = version("porfin")
    except PackageNotFoundError:
        porfin_version = "unknown"
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "porfin_version": porfin_version,
        "created_at": created_at.isoformat(),
        "storage": storage,
        "schema_version": schema_version,
        "counts": counts,
    }


def _pack(
    data_dir: Path,
    destination: Path,
    store: tuple[Path, str],
    *,
    storage: str,
    created_at: datetime,
    schema_version: int | None,
    counts: dict[str, int],
    progress: Progress | None,
) -> BackupResult:
    """Write the archive: the storage's copy (``store``: file, member name), the data
    directory's files and the manifest; returns what was written."""
    store_file, store_member = store
    files = data_files(data_dir, exclude=destination)
    total = store_file.stat().st_size + sum(_size(path) for path, _ in files)
    writer = _ArchiveWriter(destination, progress, total)
    try:
        writer.add_file(store_file, store_member)
        count = sum(writer.add_file(path, name) for path, name in files)
        size = writer.finish(_manifest(storage, created_at, schema_version, counts))
    except BaseException:
        writer.abort()
        raise
    return BackupResult(
        path=destination,
        storage=storage,
        created_at=created_at,
        schema_version=schema_version,
        counts=counts,
        files=count,
        size=size,
    )


# -- reading archives -------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in name.split("/"))
        or "\\" in name
        or "\x00" in name
    ):
        raise InvalidBackup(f"unsafe member name {name!r}")
    if name in (MANIFEST, DB_MEMBER, FIRESTORE_MEMBER) or (
        name.startswith(FILES_PREFIX) and len(name) > len(FILES_PREFIX)
    ):
        return name
    raise InvalidBackup(f"unexpected member {name!r}")


def _target(staging: Path, name: str) -> Path:
    """Where a member goes in the staging tree: ``new/`` is the future data directory."""
    if name == DB_MEMBER:
        return staging / "new" / "porfin.db"
    if name == FIRESTORE_MEMBER:
        return staging / "documents.jsonl"
    return staging / "new" / name.removeprefix(FILES_PREFIX)


def _extract(archive: Path, staging: Path, progress: Progress | None) -> BackupResult:
    """Extract ``archive`` into ``staging`` and check it against its manifest.

    Raises:
        InvalidBackup: not a Porfin backup, or damaged.
    """
    total = archive.stat().st_size
    seen: dict[str, Member] = {}
    manifest: dict[str, Any] | None = None
    with archive.open("rb") as raw:

        def advance(_: int) -> None:
            if progress is not None:
                progress(min(raw.tell(), total), total)

        try:
            with tarfile.open(fileobj=_Hashing(raw, advance), mode="r:gz") as tar:  # type: ignore[call-overload]
                for info in tar:
                    name = _safe_name(info.name)
                    if not info.isfile():
                        raise InvalidBackup(f"member {name!r} is not a regular file")
                    if name in seen or (name == MANIFEST and manifest is not None):
                        raise InvalidBackup(f"member {name!r} appears twice")
                    source = tar.extractfile(info)
                    assert source is not None  # a regular file
                    if name == MANIFEST:
                        if info.size > _MAX_MANIFEST_BYTES:
                            raise InvalidBackup("the manifest is too large")
                        try:
                            manifest = json.loads(source.read())
                        except (ValueError, UnicodeDecodeError) as exc:
                            raise InvalidBackup("the manifest is not JSON") from exc
                        continue
                    target = _target(staging, name)
                    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    digest = hashlib.sha256()
                    size = 0
                    with os.fdopen(fd, "wb") as out:
                        while chunk := source.read(_CHUNK):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                    seen[name] = Member(name=name, size=size, sha256=digest.hexdigest())
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise InvalidBackup(f"cannot read the archive: {exc}") from exc
    return _check_manifest(archive, manifest, seen)


def _check_manifest(
    archive: Path, manifest: dict[str, Any] | None, seen: dict[str, Member]
) -> BackupResult:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidBackup("no Porfin manifest in the archive")
    if manifest.get("version") != FORMAT_VERSION:
        raise InvalidBackup(f"unknown backup format version {manifest.get('version')!r}")
    try:
        listed = {m["name"]: Member(**m) for m in manifest["members"]}
        storage = str(manifest["storage"])
        created_at = datetime.fromisoformat(manifest["created_at"])
        counts = {str(k): int(v) for k, v in manifest["counts"].items()}
        schema = manifest.get("schema_version")
        schema_version = None if schema is None else int(schema)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidBackup(f"malformed manifest: {exc}") from exc
    if set(listed) != set(seen):
        missing = sorted(set(listed) - set(seen))
        extra = sorted(set(seen) - set(listed))
        raise InvalidBackup(f"members differ from the manifest (missing {missing}, extra {extra})")
    for name, member in listed.items():
        if seen[name] != member:
            raise InvalidBackup(f"checksum mismatch for {name}")
    expected = DB_MEMBER if storage == StorageKind.SQLITE else FIRESTORE_MEMBER
    if storage not in (StorageKind.SQLITE, StorageKind.FIRESTORE) or expected not in seen:
        raise InvalidBackup(f"no records for storage {storage!r} in the archive")
    return BackupResult(
        path=archive,
        storage=storage,
        created_at=created_at,
        schema_version=schema_version,
        counts=counts,
        files=sum(1 for name in seen if name.startswith(FILES_PREFIX)),
        size=archive.stat().st_size,
    )


def _stamp() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S-%f}"


@contextlib.contextmanager
def _staging(data_dir: Path) -> Iterator[Path]:
    """A private work folder inside the data directory (same file system: moves are
    renames), removed at the end."""
    created = not data_dir.exists()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = data_dir / f"{WORK_PREFIX}restore-{_stamp()}"
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if created and not any(data_dir.iterdir()):
            data_dir.rmdir()  # a refused restore leaves no trace


@contextlib.contextmanager
def _no_server(data_dir: Path) -> Iterator[None]:
    """Hold the SQLite checkpoint lock: refuse while a Porfin process holds it (a running
    server or worker takes it a few seconds after starting)."""
    lock_path = data_dir / "porfin.db.checkpoint-lock"
    if not lock_path.exists():
        yield
        return
    with lock_path.open("a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RestoreRefused(
                "a Porfin process (serve or worker) is using this data directory; stop it first"
            ) from exc
        yield


def _swap_in(data_dir: Path, new: Path, check: Callable[[], None]) -> Path | None:
    """Move the data directory's contents aside and ``new``'s in; run ``check`` on the
    result; undo everything if a step or the check fails. Returns where the previous
    contents went (None when there were none)."""
    previous = data_dir / f"{WORK_PREFIX}previous-{_stamp()}"
    current = sorted(e.name for e in data_dir.iterdir() if not e.name.startswith(WORK_PREFIX))
    incoming = sorted(e.name for e in new.iterdir()) if new.is_dir() else []
    moved: list[str] = []
    placed: list[str] = []
    try:
        if current:
            previous.mkdir(mode=0o700)
        for name in current:
            os.rename(data_dir / name, previous / name)
            moved.append(name)
        for name in incoming:
            os.rename(new / name, data_dir / name)
            placed.append(name)
        check()
    except BaseException:
        for name in reversed(placed):
            with contextlib.suppress(OSError):
                os.rename(data_dir / name, new / name)
        for name in reversed(moved):
            with contextlib.suppress(OSError):
                os.rename(previous / name, data_dir / name)
        with contextlib.suppress(OSError):
            previous.rmdir()
        raise
    return previous if current else None


def verify_archive(archive: Path, progress: Progress | None = None) -> BackupResult:
    """Check ``archive`` completely (manifest, checksums, records) without restoring it.

    Raises:
        InvalidBackup: not a Porfin backup, or damaged.
    """
    with tempfile.TemporaryDirectory(prefix=WORK_PREFIX) as folder:
        staging = Path(folder)
        result = _extract(archive, staging, progress)
        if result.storage == StorageKind.SQLITE:
            _check_database_against(staging / "new" / "porfin.db", result)
        else:
            _check_documents_against(staging / "documents.jsonl", result)
        return result


# -- SQLite -----------------------------------------------------------------------------------


def _latest_schema() -> int:
    from porfin_adapters.sqlite.database import _migrations

    return max(number for number, _ in _migrations())


def _inspect_database(path: Path) -> tuple[int, dict[str, int]]:
    """Integrity check, schema version and rows per table of a database file.

    Raises:
        InvalidBackup: the database is damaged.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidBackup(f"cannot open the database: {exc}") from exc
    try:
        verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            raise InvalidBackup(f"database integrity check failed: {'; '.join(verdict[:3])}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
    except sqlite3.Error as exc:
        raise InvalidBackup(f"the database is damaged: {exc}") from exc
    finally:
        conn.close()
    return version, counts


def _check_database_against(path: Path, expected: BackupResult) -> None:
    version, counts = _inspect_database(path)
    if version != expected.schema_version or counts != expected.counts:
        raise InvalidBackup("the database does not match the manifest (schema or row counts)")


def _check_restorable(result: BackupResult, storage: StorageKind) -> None:
    """Refuse a backup of another storage, or one made by a newer Porfin."""
    if result.storage != storage:
        raise RestoreRefused(
            f"this is a {result.storage} backup and the installation uses {storage} "
            "(PORFIN_STORAGE)"
        )
    latest = _latest_schema()
    if result.schema_version is not None and result.schema_version > latest:
        raise RestoreRefused(
            f"the backup's schema version {result.schema_version} is newer than this "
            f"Porfin's ({latest}); upgrade Porfin first"
        )


def _quick_check(path: Path) -> None:
    """The restored database opens and passes ``PRAGMA quick_check`` where it now lies."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = [row[0] for row in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InvalidBackup(f"the restored database does not open: {exc}") from exc
    if verdict != ["ok"]:
        raise InvalidBackup(f"the restored database fails its check: {verdict[0]}")


def _snapshot(source: Path, target: Path) -> None:
    """Copy ``source`` into ``target`` with SQLite's online backup API.

    One step (``pages=-1``) reads the whole database inside one read transaction: a
    consistent snapshot including what is still in the WAL, while the server keeps writing
    (WAL readers never block the writer, and a stepwise copy would restart on every commit).
    """
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            # One self-contained file: no WAL beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StorageUnavailable(f"cannot copy the database: {exc}") from exc
    finally:
        src.close()


class SqliteBackup:
    """Backup and restore of the embedded installation (SQLite file + data directory).

    Args:
        settings: Which data directory.
    """

    storage = StorageKind.SQLITE

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def create(self, destination: Path, progress: Progress | None = None) -> BackupResult:
        """Write a backup to ``destination`` (replaced atomically when complete).

        Raises:
            NotFound: there is no database in the data directory.
            StorageUnavailable: the database or a file could not be read.
        """
        database = self._settings.database_path
        if not database.is_file():
            raise NotFound(f"no database at {database}", path=str(database))
        created_at = datetime.now(UTC)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(
            dir=destination.parent, prefix=f"{WORK_PREFIX}backup-"
        ) as folder:
            snapshot = Path(folder) / "porfin.db"
            _snapshot(database, snapshot)
            try:
                version, counts = _inspect_database(snapshot)
            except InvalidBackup as exc:
                raise StorageUnavailable(f"the database copy is damaged: {exc.message}") from exc
            return _pack(
                self._settings.data_dir,
                destination,
                (snapshot, DB_MEMBER),
                storage=self.storage,
                created_at=created_at,
                schema_version=version,
                counts=counts,
                progress=progress,
            )

    def restore(
        self, archive: Path, *, force: bool = False, progress: Progress | None = None
    ) -> RestoreResult:
        """Replace the installation with the one in ``archive`` once it is verified.

        Raises:
            InvalidBackup: the archive is damaged or is not a SQLite backup; nothing changed.
            RestoreRefused: the data directory holds data (without ``force``), or a Porfin
                process is using it; nothing changed.
        """
        data_dir = self._settings.data_dir
        if _has_data(data_dir) and not force:
            raise RestoreRefused(f"{data_dir} is not empty; use --force to replace it")
        with _no_server(data_dir), _staging(data_dir) as staging:
            result = _extract(archive, staging, progress)
            _check_restorable(result, self.storage)
            _check_database_against(staging / "new" / "porfin.db", result)
            previous = _swap_in(
                data_dir, staging / "new", lambda: _quick_check(data_dir / "porfin.db")
            )
        return RestoreResult(backup=result, data_dir=data_dir, previous=previous)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


# -- Firestore --------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """A Firestore value as JSON: timestamps and bytes tagged, the rest as is."""
    if isinstance(value, datetime):
        return {"$ts": value.astimezone(UTC).isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise StorageUnavailable(f"cannot export a Firestore value of type {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$ts" in value:
            return datetime.fromisoformat(value["$ts"])
        if len(value) == 1 and "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _collection_key(path: str) -> str:
    """``clinics/a/customers/b`` -> ``clinics/customers`` (the counts' keys)."""
    return "/".join(path.split("/")[0::2])


def _check_documents_against(path: Path, expected: BackupResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                document = json.loads(line)
                doc_path = document["path"]
                if not isinstance(doc_path, str) or not isinstance(document["data"], dict):
                    raise InvalidBackup("malformed document line")
                parts = doc_path.split("/")
                if len(parts) % 2 or any(p in ("", ".", "..") for p in parts):
                    raise InvalidBackup(f"malformed document path {doc_path!r}")
                key = _collection_key(doc_path)
                counts[key] = counts.get(key, 0) + 1
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidBackup(f"malformed documents file: {exc}") from exc
    if counts != expected.counts:
        raise InvalidBackup("the documents do not match the manifest's counts")
    return counts


class FirestoreBackup:
    """Backup and restore of a Firestore installation: every document of the top-level
    collections named with ``firestore_root`` and of the clinics' subcollections, plus the
    data directory's files (tokens, secrets, media).

    A backup reads page by page outside transactions: documents written while it runs may
    or may not be in it (Firestore has no consistent export short of Google's managed one).

    Args:
        settings: Which project, database, root and data directory.
    """

    storage = StorageKind.FIRESTORE

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _client(self) -> Any:
        """A client for the running event loop (gRPC channels belong to one loop)."""
        from google.cloud.firestore import AsyncClient

        return AsyncClient(
            project=self._settings.firestore_project, database=self._settings.firestore_database
        )

    async def _top_collections(self, client: Any) -> list[Any]:
        root = self._settings.firestore_root
        found = [c async for c in client.collections() if c.id.startswith(root)]
        return sorted(found, key=lambda c: c.id)

    async def _documents(self, collection: Any) -> AsyncIterator[Any]:
        """Every document of ``collection``, by id, a page at a time."""
        last = None
        while True:
            query = collection.order_by("__name__").limit(_FIRESTORE_PAGE)
            if last is not None:
                query = query.start_after(last)
            page = [snapshot async for snapshot in query.stream()]
            for snapshot in page:
                yield snapshot
            if len(page) < _FIRESTORE_PAGE:
                return
            last = page[-1]

    async def _walk(self, client: Any) -> AsyncIterator[Any]:
        """Every document of the installation: top-level ones, then (after each clinic) the
        clinic's subcollections (the storage nests nothing deeper)."""
        clinics = f"{self._settings.firestore_root}clinics"
        for top in await self._top_collections(client):
            async for snapshot in self._documents(top):
                yield snapshot
                if top.id != clinics:
                    continue
                subs = [c async for c in snapshot.reference.collections()]
                for sub in sorted(subs, key=lambda c: c.id):
                    async for child in self._documents(sub):
                        yield child

    async def _export(
        self, client: Any, out: IO[str], on_document: Callable[[], None]
    ) -> dict[str, int]:
        root = self._settings.firestore_root
        counts: dict[str, int] = {}
        async for snapshot in self._walk(client):
            relative = snapshot.reference.path[len(root) :]
            data = _encode(snapshot.to_dict() or {})
            out.write(json.dumps({"path": relative, "data": data}, ensure_ascii=False) + "\n")
            key = _collection_key(relative)
            counts[key] = counts.get(key, 0) + 1
            on_document()
        return counts

    async def _is_empty(self, client: Any) -> bool:
        for top in await self._top_collections(client):
            async for _ in top.limit(1).stream():
                return False
        return True

    async def _delete_all(self, client: Any) -> None:
        paths = [snapshot.reference.path async for snapshot in self._walk(client)]
        for start in range(0, len(paths), _FIRESTORE_BATCH):
            batch = client.batch()
            for path in paths[start : start + _FIRESTORE_BATCH]:
                batch.delete(client.document(path))
            await batch.commit()

    async def _import(self, client: Any, documents: Path, on_document: Callable[[], None]) -> None:
        root = self._settings.firestore_root
        batch = client.batch()
        pending = 0
        with documents.open(encoding="utf-8") as lines:
            for line in lines:
                document = json.loads(line)
                batch.set(client.document(root + document["path"]), _decode(document["data"]))
                pending += 1
                on_document()
                if pending == _FIRESTORE_BATCH:
                    await batch.commit()
                    batch, pending = client.batch(), 0
        if pending:
            await batch.commit()

    def create(self, destination: Path, progress: Progress | None = None) -> BackupResult:
        """Write a backup to ``destination`` (replaced atomically when complete).

        Raises:
            StorageUnavailable: Firestore or a file could not be read.
        """
        return _run(self._create(destination, progress))

    async def _create(self, destination: Path, progress: Progress | None) -> BackupResult:
        from porfin_adapters.firestore.client import close_client

        created_at = datetime.now(UTC)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(
            dir=destination.parent, prefix=f"{WORK_PREFIX}backup-"
        ) as folder:
            documents = Path(folder) / "documents.jsonl"
            client = self._client()
            try:
                with documents.open("w", encoding="utf-8") as out:
                    counts = await _firestore_errors(self._export(client, out, lambda: None))
            finally:
                await close_client(client)
            return _pack(
                self._settings.data_dir,
                destination,
                (documents, FIRESTORE_MEMBER),
                storage=self.storage,
                created_at=created_at,
                schema_version=None,
                counts=counts,
                progress=progress,
            )

    def restore(
        self, archive: Path, *, force: bool = False, progress: Progress | None = None
    ) -> RestoreResult:
        """Replace the installation's documents and files with the archive's, once verified.

        With ``force`` the documents already there are first exported into the previous
        data's folder (``firestore-before-restore.jsonl``), then deleted. Stop the servers
        first: Firestore cannot tell whether one is running.

        Raises:
            InvalidBackup: the archive is damaged or is not a Firestore backup; nothing
                changed.
            RestoreRefused: Firestore or the data directory holds data (without ``force``);
                nothing changed.
        """
        return _run(self._restore(archive, force, progress))

    async def _restore(
        self, archive: Path, force: bool, progress: Progress | None
    ) -> RestoreResult:
        from porfin_adapters.firestore.client import close_client

        data_dir = self._settings.data_dir
        client = self._client()
        try:
            empty = await _firestore_errors(self._is_empty(client))
            if not (empty and not _has_data(data_dir)) and not force:
                raise RestoreRefused(
                    "the installation already has data (Firestore or the data directory); "
                    "use --force to replace it"
                )
            with _staging(data_dir) as staging:
                result = _extract(archive, staging, progress)
                _check_restorable(result, self.storage)
                documents = staging / "documents.jsonl"
                _check_documents_against(documents, result)
                (staging / "new").mkdir(mode=0o700, exist_ok=True)
                previous = _swap_in(data_dir, staging / "new", lambda: None)
                if not empty:
                    previous = previous or data_dir / f"{WORK_PREFIX}previous-{_stamp()}"
                    previous.mkdir(mode=0o700, exist_ok=True)
                    before = previous / "firestore-before-restore.jsonl"
                    with before.open("w", encoding="utf-8") as out:
                        await _firestore_errors(self._export(client, out, lambda: None))
                total = sum(result.counts.values())
                done = 0

                def counted() -> None:
                    nonlocal done
                    done += 1
                    if progress is not None:
                        progress(done, total)

                try:
                    if not empty:
                        await _firestore_errors(self._delete_all(client))
                    await _firestore_errors(self._import(client, documents, counted))
                except StorageUnavailable as exc:
                    kept = f"; the documents that were there are in {previous}" if previous else ""
                    raise StorageUnavailable(
                        f"the import stopped midway: {exc.message}{kept}"
                    ) from exc
        finally:
            await close_client(client)
        return RestoreResult(backup=result, data_dir=data_dir, previous=previous)


async def _firestore_errors(work: Any) -> Any:
    """Await ``work``, turning Google's errors into ``StorageUnavailable``."""
    import grpc
    from google.api_core import exceptions as gexc

    try:
        return await work
    except (gexc.GoogleAPIError, grpc.RpcError) as exc:
        raise StorageUnavailable(f"Firestore failed: {exc}") from exc


def _run(coro: Any) -> Any:
    return asyncio.run(coro)
