"""``porfin backup`` / ``restore`` with Firestore storage, on the emulator: backup -> wipe ->
restore gives back the same exports and files; a damaged archive changes nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from porfin_cli.main import app
from tests.e2e.test_cli_backup import add_media, exports, files, seed

pytestmark = pytest.mark.firestore


@pytest.fixture
def project(firestore_emulator, monkeypatch) -> str:
    name = firestore_emulator.new_project()
    monkeypatch.setenv("PORFIN_STORAGE", "firestore")
    monkeypatch.setenv("PORFIN_FIRESTORE_PROJECT", name)
    monkeypatch.delenv("PORFIN_FIRESTORE_ROOT", raising=False)
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)
    return name


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def porfin(project, data_dir):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--data-dir", str(data_dir)])

    return run


def test_firestore_backup_wipe_restore_round_trip(
    firestore_emulator, project, porfin, data_dir, tmp_path
):
    seed(porfin)
    add_media(data_dir)
    before, before_files = exports(porfin), files(data_dir)
    assert len(before["customers", "jsonl"].splitlines()) == 3

    archive = tmp_path / "fs.tar.gz"
    made = porfin("backup", str(archive), "--json")
    assert made.exit_code == 0, made.output
    summary = json.loads(made.stdout)
    assert summary["storage"] == "firestore" and summary["schema_version"] is None
    assert summary["counts"]["clinics/customers"] == 3
    assert summary["counts"]["clinics/appointments"] == 2

    firestore_emulator.wipe(project)
    shutil.rmtree(data_dir)
    restored = porfin("restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "3 pacientes" in restored.stdout and "2 consultas" in restored.stdout

    assert exports(porfin) == before
    assert files(data_dir) == before_files

    # Now the installation has data: a damaged archive is refused even with --force.
    bad = tmp_path / "bad.tar.gz"
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    refused = porfin("restore", str(bad), "--force")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("erro: backup inválido ou corrompido")
    assert exports(porfin) == before
    assert files(data_dir) == before_files

    # Without --force a good archive is refused too; with it, the old documents are kept.
    assert porfin("restore", str(archive)).exit_code == 1
    forced = porfin("restore", str(archive), "--force", "--json")
    assert forced.exit_code == 0, forced.output
    previous = json.loads(forced.stdout)["previous"]
    kept = (data_dir / previous.rsplit("/", 1)[-1] / "firestore-before-restore.jsonl").read_text()
    assert len(kept.splitlines()) == sum(summary["counts"].values())
    assert exports(porfin) == before
