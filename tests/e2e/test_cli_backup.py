"""``porfin backup``, ``restore``, ``export`` and ``completion`` on a local data directory:
backup -> wipe -> restore gives back the same records and files, and a damaged archive is
refused with the existing data untouched."""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import io
import json
import shutil
import tarfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import holidays
import pytest
from typer.testing import CliRunner

from porfin_cli.main import app

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40
EXPORTS = [
    (noun, fmt) for noun in ("customers", "chats", "appointments") for fmt in ("csv", "jsonl")
]


def _tuesday() -> date:
    """A Tuesday at least a week ahead that is not a national holiday."""
    day = datetime.now(UTC).date() + timedelta(days=7)
    national = holidays.country_holidays("BR", years=range(day.year, day.year + 2))
    while day.weekday() != 1 or day in national:
        day += timedelta(days=1)
    return day


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def porfin(data_dir, monkeypatch):
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--data-dir", str(data_dir)])

    return run


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def seed(porfin) -> dict[str, str]:
    """A professional, a type, three patients (accents included), two appointments."""
    professional = _json(
        porfin(
            "professionals",
            "add",
            "--name",
            "Dra. Ana Souza",
            "--hours",
            "seg-sex 08:00-18:00",
            "--json",
        )
    )
    kind = _json(
        porfin("appointment-types", "add", "--name", "Limpeza", "--duration", "30", "--json")
    )
    patients = {}
    for name, number in (
        ("Maria Conceição", "+55 11 98765-4321"),
        ("João", "+55 21 99876-5432"),
        ('Zé, o "Pé"', "+55 31 99999-0000"),
    ):
        sent = _json(
            porfin("simulate", f"Olá, sou {name}", "--from", number, "--name", name, "--json")
        )
        patients[name] = sent["customer_id"]
    day = _tuesday()
    for hour, name in (("09:00", "Maria Conceição"), ("10:00", "João")):
        booked = porfin(
            "appointments",
            "book",
            "--customer",
            patients[name],
            "--type",
            kind["id"],
            "--start",
            f"{day}T{hour}",
            "--notes",
            "1ª vez; trazer exames",
        )
        assert booked.exit_code == 0, booked.output
    return {"professional": professional["id"], "day": day.isoformat(), **patients}


def add_media(data_dir: Path) -> str:
    """An uploaded file in the media store (what `porfin backup` must carry)."""
    import porfin_adapters.container as composition
    from porfin_adapters.settings import load_settings
    from porfin_core.use_cases.upload_media import NewMedia

    async def upload() -> str:
        container = composition.create_container(load_settings(data_dir=data_dir))
        await composition.start(container)
        try:
            clinic_id = (await container.set_up_installation()()).clinic.id
            media = await container.upload_media()(
                NewMedia(clinic_id=clinic_id, mime_type="image/jpeg", data=JPEG)
            )
            return media.id
        finally:
            await composition.stop(container)

    return asyncio.run(upload())


def exports(porfin) -> dict[tuple[str, str], str]:
    found = {}
    for noun, fmt in EXPORTS:
        result = porfin("export", noun, "--format", fmt)
        assert result.exit_code == 0, result.output
        found[noun, fmt] = result.stdout
    return found


def files(data_dir: Path) -> dict[str, str]:
    """SHA-256 of the data directory's files other than the live database and work dirs."""
    skipped = ("porfin.db", ".porfin-")
    return {
        path.relative_to(data_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data_dir.rglob("*"))
        if path.is_file() and not path.relative_to(data_dir).parts[0].startswith(skipped)
    }


def test_backup_wipe_restore_gives_back_the_same_data(porfin, data_dir, tmp_path):
    seed(porfin)
    media_id = add_media(data_dir)
    before = exports(porfin)
    before_files = files(data_dir)
    assert any(name.endswith(f"{media_id}.bin") for name in before_files)
    assert "admin-token" not in before_files  # `porfin simulate` makes no token...
    (data_dir / "admin-token").write_text("tok\n")  # ...`serve` would: it must travel too
    before_files = files(data_dir)

    archive = tmp_path / "copia.tar.gz"
    made = _json(porfin("backup", str(archive), "--json"))
    assert made["storage"] == "sqlite" and made["schema_version"] > 0
    assert made["counts"]["customers"] == 3 and made["counts"]["appointments"] == 2
    assert made["files"] == len(before_files)
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "database/porfin.db" in names and "files/admin-token" in names
    assert any(n.startswith("files/media/") and n.endswith(f"{media_id}.bin") for n in names)
    assert {m["name"] for m in manifest["members"]} == set(names) - {"manifest.json"}
    assert all(len(m["sha256"]) == 64 for m in manifest["members"])

    shutil.rmtree(data_dir)
    restored = porfin("restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "Restaurado em" in restored.stdout and "3 pacientes" in restored.stdout
    assert "2 consultas" in restored.stdout

    assert exports(porfin) == before
    assert files(data_dir) == before_files
    assert [p for p in data_dir.iterdir() if p.name.startswith(".porfin-")] == []


def test_text_summary_and_default_file_name(porfin, data_dir, tmp_path, monkeypatch):
    seed(porfin)
    monkeypatch.chdir(tmp_path)
    made = porfin("backup")
    assert made.exit_code == 0, made.output
    [archive] = tmp_path.glob("porfin-backup-*.tar.gz")
    assert len(archive.name) == len("porfin-backup-20261126-101500.tar.gz")
    assert f"Backup criado: {archive}" in made.stdout
    assert "3 pacientes, 3 conversas" in made.stdout and "2 consultas" in made.stdout
    checked = porfin("restore", str(archive), "--check")
    assert checked.exit_code == 0, checked.output
    assert "Backup válido" in checked.stdout


def test_restore_refuses_a_non_empty_data_dir_without_force(porfin, data_dir, tmp_path):
    seed(porfin)
    archive = tmp_path / "b.tar.gz"
    assert porfin("backup", str(archive)).exit_code == 0
    porfin("simulate", "Mais uma", "--from", "+55 11 91111-2222", "--name", "Nova")
    after = exports(porfin)

    refused = porfin("restore", str(archive))
    assert refused.exit_code == 1
    assert refused.stderr.startswith("erro: restauração recusada")
    assert exports(porfin) == after

    forced = _json(porfin("restore", str(archive), "--force", "--json"))
    previous = Path(forced["previous"])
    assert previous.parent == data_dir and (previous / "porfin.db").is_file()
    names = [
        json.loads(line)["name"] for line in exports(porfin)["customers", "jsonl"].splitlines()
    ]
    assert "Nova" not in names and len(names) == 3


def _tampered(archive: Path, target: Path) -> None:
    """Same manifest, one member changed: a valid .tar.gz whose checksum does not match."""
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "database/porfin.db":
                data = data[:-4096] + b"\0" * 4096
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize("damage", ["flipped", "truncated", "tampered", "not_a_backup"])
def test_a_damaged_archive_is_refused_and_the_data_is_untouched(porfin, data_dir, tmp_path, damage):
    seed(porfin)
    add_media(data_dir)
    archive = tmp_path / "b.tar.gz"
    assert porfin("backup", str(archive)).exit_code == 0
    before, before_files = exports(porfin), files(data_dir)
    raw = archive.read_bytes()
    bad = tmp_path / "bad.tar.gz"
    if damage == "flipped":
        broken = bytearray(raw)
        broken[len(raw) // 2] ^= 0xFF
        bad.write_bytes(bytes(broken))
    elif damage == "truncated":
        bad.write_bytes(raw[: len(raw) * 2 // 3])
    elif damage == "tampered":
        _tampered(archive, bad)
    else:
        bad.write_bytes(gzip.compress(b"just some text"))

    refused = porfin("restore", str(bad), "--force")
    assert refused.exit_code == 1, refused.output
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("erro: backup inválido ou corrompido"), lines
    assert exports(porfin) == before
    assert files(data_dir) == before_files
    assert [p for p in data_dir.iterdir() if p.name.startswith(".porfin-")] == []
    check = porfin("restore", str(bad), "--check")
    assert check.exit_code == 1


def test_export_filters_formats_and_output_file(porfin, data_dir, tmp_path):
    seeded = seed(porfin)
    rows = list(csv.DictReader(io.StringIO(porfin("export", "customers").stdout)))
    assert [r["name"] for r in rows] == ['Zé, o "Pé"', "João", "Maria Conceição"]
    assert rows[0]["stage"] == "new_lead" and rows[0]["phone"] == "+5531999990000"
    assert json.loads(rows[0]["identities"])[0]["kind"] == "phone"

    none = porfin("export", "customers", "--stage", "lost")
    assert none.stdout.splitlines() == [
        "id,name,phone,identities,stage,tags,consents,created_at,merged_into"
    ]
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    assert porfin("export", "customers", "--since", tomorrow).stdout.count("\n") == 1

    day = seeded["day"]
    lines = porfin("export", "appointments", "-f", "jsonl", "--since", day, "--until", day)
    booked = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [a["customer_id"] for a in booked] == [seeded["Maria Conceição"], seeded["João"]]
    assert booked[0]["notes"] == "1ª vez; trazer exames"
    assert porfin("export", "appointments", "--status", "cancelled").stdout.count("\n") == 1
    mine = porfin("export", "appointments", "--professional", seeded["professional"], "-f", "jsonl")
    assert len(mine.stdout.splitlines()) == 2

    chats = [json.loads(x) for x in porfin("export", "chats", "-f", "jsonl").stdout.splitlines()]
    assert len(chats) == 3
    other = porfin("export", "chats", "--channel", "nope", "-f", "jsonl")
    assert other.stdout == ""

    out = tmp_path / "pacientes.csv"
    written = porfin("export", "customers", "--output", str(out))
    assert written.exit_code == 0 and written.stdout == ""
    assert "3 linha(s) exportada(s)" in written.stderr
    assert out.read_text(encoding="utf-8").count("Conceição") == 1

    bad = porfin("export", "customers", "--since", "ontem")
    assert bad.exit_code == 1 and bad.stderr.startswith("erro: data inválida")
    bad = porfin("export", "chats", "--status", "talvez")
    assert bad.exit_code == 1 and "filtro inválido" in bad.stderr


def test_export_streams_page_by_page(porfin, data_dir, monkeypatch):
    """More rows than one page: every one is written once, in order."""
    import porfin_cli.export as export

    monkeypatch.setattr(export, "PAGE", 2)
    seed(porfin)
    for i in range(4):
        porfin("simulate", "Oi", "--from", f"+55 11 97777-000{i}", "--name", f"P{i}")
    ids = [
        json.loads(x)["id"]
        for x in porfin("export", "customers", "-f", "jsonl").stdout.splitlines()
    ]
    assert len(ids) == len(set(ids)) == 7
    chats = porfin("export", "chats", "-f", "jsonl").stdout.splitlines()
    assert len(chats) == 7
    appointments = porfin("export", "appointments", "-f", "jsonl").stdout.splitlines()
    assert len(appointments) == 2


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o"), ("zsh", "#compdef porfin"), ("fish", "complete --command porfin")],
)
def test_completion_prints_the_script(shell, marker):
    result = CliRunner().invoke(app, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "_PORFIN_COMPLETE" in result.stdout


def test_completion_refuses_an_unknown_shell():
    result = CliRunner().invoke(app, ["completion", "tcsh"])
    assert result.exit_code == 2


def test_the_root_command_imports_nothing_heavy():
    """``porfin --help`` stays fast (bench/cli_help.py): the command modules import their
    libraries inside the commands."""
    import subprocess
    import sys

    heavy = ["asyncio", "rich", "httpx", "sqlite3", "litestar", "textual", "google"]
    heavy += ["porfin_adapters", "porfin_core", "porfin_tui.app"]
    code = (
        "import json, sys\n"
        "import porfin_cli.main\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(loaded) == []


def test_a_refused_restore_leaves_no_data_dir_behind(porfin, data_dir, tmp_path):
    seed(porfin)
    archive = tmp_path / "b.tar.gz"
    assert porfin("backup", str(archive)).exit_code == 0
    raw = archive.read_bytes()
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(raw[: len(raw) // 2])
    shutil.rmtree(data_dir)
    refused = porfin("restore", str(bad))
    assert refused.exit_code == 1 and "backup inválido" in refused.stderr
    assert not data_dir.exists()
