"""Settings: PORFIN_* variables over porfin.toml over defaults, every value checked."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from porfin_adapters.settings import Settings, StorageKind, load_settings
from porfin_core.errors import ValidationError


@pytest.fixture(autouse=True)
def empty_dir(tmp_path, monkeypatch) -> Path:
    """Run in a directory without a stray ./porfin.toml."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(empty_dir):
    settings = load_settings({})
    assert settings.storage is StorageKind.SQLITE
    assert settings.data_dir == empty_dir / "xdg" / "porfin"
    assert settings.database_path == empty_dir / "xdg" / "porfin" / "porfin.db"
    assert settings.token_path == empty_dir / "xdg" / "porfin" / "admin-token"
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.admin_token is None
    assert (settings.log_level, settings.log_format) == ("info", "console")
    assert settings.max_body_bytes == 1_048_576


def test_environment_variables(empty_dir):
    settings = load_settings(
        {
            "PORFIN_STORAGE": "MEMORY",
            "PORFIN_DATA_DIR": str(empty_dir / "data"),
            "PORFIN_HOST": "0.0.0.0",
            "PORFIN_PORT": "9000",
            "PORFIN_WORKERS": "4",
            "PORFIN_ADMIN_TOKEN": "s3cret",
            "PORFIN_FIRESTORE_PROJECT": "porfin-prod",
            "PORFIN_LOG_LEVEL": "debug",
            "PORFIN_LOG_FORMAT": "json",
            "PORFIN_MAX_BODY_BYTES": "2048",
            "UNRELATED": "ignored",
        }
    )
    assert settings == Settings(
        storage=StorageKind.MEMORY,
        data_dir=empty_dir / "data",
        host="0.0.0.0",
        port=9000,
        workers=4,
        admin_token="s3cret",
        firestore_project="porfin-prod",
        log_level="debug",
        log_format="json",
        max_body_bytes=2048,
    )


def test_empty_variables_are_ignored():
    assert load_settings({"PORFIN_PORT": "", "PORFIN_STORAGE": ""}).port == 8000


def test_data_dir_expands_the_home_directory(monkeypatch, empty_dir):
    monkeypatch.setenv("HOME", str(empty_dir / "home"))
    assert load_settings({"PORFIN_DATA_DIR": "~/porfin"}).data_dir == empty_dir / "home" / "porfin"


def test_config_file_named_by_porfin_config(empty_dir):
    config = write_config(
        empty_dir / "elsewhere.toml",
        """
        [porfin]
        storage = "firestore"
        firestore_project = "clinica-sorriso"
        firestore_root = "prod"
        port = 8080
        log_format = "json"
        """,
    )
    settings = load_settings({"PORFIN_CONFIG": str(config)})
    assert settings.storage is StorageKind.FIRESTORE
    assert settings.firestore_project == "clinica-sorriso"
    assert settings.firestore_root == "prod"
    assert settings.port == 8080
    assert settings.log_format == "json"


def test_config_file_without_a_section(empty_dir):
    config = write_config(empty_dir / "flat.toml", 'host = "::"\nworkers = 2\n')
    settings = load_settings({"PORFIN_CONFIG": str(config)})
    assert (settings.host, settings.workers) == ("::", 2)


def test_porfin_toml_in_the_working_directory_is_read(empty_dir):
    write_config(empty_dir / "porfin.toml", "[porfin]\nport = 7000\n")
    assert load_settings({}).port == 7000


def test_precedence_overrides_then_environment_then_file(empty_dir):
    config = write_config(empty_dir / "p.toml", "[porfin]\nport = 7000\nworkers = 3\nhost = 'a'\n")
    env = {"PORFIN_CONFIG": str(config), "PORFIN_PORT": "7001", "PORFIN_HOST": "b"}
    settings = load_settings(env, host="c", workers=None)
    assert (settings.port, settings.workers, settings.host) == (7001, 3, "c")


def test_unknown_keys_in_the_file_are_rejected(empty_dir):
    config = write_config(empty_dir / "typo.toml", "[porfin]\nprot = 8000\n")
    with pytest.raises(ValidationError, match="prot") as info:
        load_settings({"PORFIN_CONFIG": str(config)})
    assert info.value.fields == {"field": "prot"}


def test_a_missing_config_file_is_an_error(empty_dir):
    with pytest.raises(ValidationError) as info:
        load_settings({"PORFIN_CONFIG": str(empty_dir / "missing.toml")})
    assert info.value.fields == {"field": "config"}


def test_a_broken_config_file_is_an_error(empty_dir):
    config = write_config(empty_dir / "broken.toml", "[porfin\nport = \n")
    with pytest.raises(ValidationError) as info:
        load_settings({"PORFIN_CONFIG": str(config)})
    assert info.value.fields == {"field": "config"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORFIN_PORT", "eighty"),
        ("PORFIN_WORKERS", "1.5"),
        ("PORFIN_MAX_BODY_BYTES", "1MB"),
        ("PORFIN_STORAGE", "postgres"),
        ("PORFIN_LOG_LEVEL", "verbose"),
        ("PORFIN_LOG_FORMAT", "xml"),
        ("PORFIN_PORT", "0"),
        ("PORFIN_PORT", "70000"),
        ("PORFIN_WORKERS", "0"),
    ],
)
def test_invalid_environment_values(name, value):
    field = name.removeprefix("PORFIN_").lower()
    with pytest.raises(ValidationError) as info:
        load_settings({name: value})
    assert info.value.fields == {"field": field}
    assert value in info.value.message


def test_invalid_values_in_the_file(empty_dir):
    config = write_config(empty_dir / "bad.toml", '[porfin]\nport = "http"\n')
    with pytest.raises(ValidationError) as info:
        load_settings({"PORFIN_CONFIG": str(config)})
    assert info.value.fields == {"field": "port"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[porfin]\nworkers = 4.5\n", "workers"),
        ("[porfin]\nport = true\n", "port"),
        ("[porfin]\nhost = 8\n", "host"),
        ("[porfin]\nport = 8001\n[other]\nx = 1\n", "other"),
        ("porfin = 3\n", "porfin"),
    ],
)
def test_wrong_types_and_stray_tables_in_the_file_are_rejected(empty_dir, body, field):
    config = write_config(empty_dir / "bad.toml", body)
    with pytest.raises(ValidationError) as info:
        load_settings({"PORFIN_CONFIG": str(config)})
    assert info.value.fields == {"field": field}


def test_choices_are_case_insensitive():
    settings = load_settings({"PORFIN_LOG_FORMAT": "JSON", "PORFIN_LOG_LEVEL": "DEBUG"})
    assert (settings.log_format, settings.log_level) == ("json", "debug")


def test_invalid_override():
    with pytest.raises(ValidationError):
        load_settings({}, storage="cassandra")


def test_settings_are_immutable():
    settings = Settings(storage=StorageKind.MEMORY)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_operations_defaults():
    settings = load_settings({})
    assert settings.access_log is False
    assert settings.cors_origins == ()
    assert settings.hsts_max_age == 0
    assert settings.metrics_enabled is True
    assert settings.metrics_token is None


def test_operations_from_the_environment():
    settings = load_settings(
        {
            "PORFIN_ACCESS_LOG": "true",
            "PORFIN_CORS_ORIGINS": " https://app.clinica.com.br, http://localhost:5173 ,",
            "PORFIN_HSTS_MAX_AGE": "31536000",
            "PORFIN_METRICS_ENABLED": "no",
            "PORFIN_METRICS_TOKEN": "a-long-enough-metrics-token",
        }
    )
    assert settings.access_log is True
    assert settings.cors_origins == ("https://app.clinica.com.br", "http://localhost:5173")
    assert settings.hsts_max_age == 31_536_000
    assert settings.metrics_enabled is False
    assert settings.metrics_token == "a-long-enough-metrics-token"
    assert "a-long-enough" not in repr(settings)


def test_operations_from_the_file(empty_dir):
    config = write_config(
        empty_dir / "ops.toml",
        """
        [porfin]
        access_log = true
        cors_origins = ["https://*.clinica.com.br", "http://[::1]:3000", "*"]
        metrics_enabled = false
        """,
    )
    settings = load_settings({"PORFIN_CONFIG": str(config)})
    assert settings.access_log is True
    assert settings.cors_origins == ("https://*.clinica.com.br", "http://[::1]:3000", "*")
    assert settings.metrics_enabled is False


@pytest.mark.parametrize("value", ["1", "TRUE", "yes", "On"])
def test_booleans_accept_the_usual_spellings(value):
    assert load_settings({"PORFIN_ACCESS_LOG": value}).access_log is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORFIN_ACCESS_LOG", "maybe"),
        ("PORFIN_METRICS_ENABLED", "2"),
        ("PORFIN_HSTS_MAX_AGE", "-1"),
        ("PORFIN_HSTS_MAX_AGE", "63072001"),
        ("PORFIN_CORS_ORIGINS", "https://app.clinica.com.br/"),  # browsers send no slash
        ("PORFIN_CORS_ORIGINS", "app.clinica.com.br"),
        ("PORFIN_CORS_ORIGINS", "https://ok.com,ftp://files.com"),
    ],
)
def test_invalid_operations_values(name, value):
    field = name.removeprefix("PORFIN_").lower()
    with pytest.raises(ValidationError) as info:
        load_settings({name: value})
    assert info.value.fields == {"field": field}


def test_a_short_metrics_token_is_refused_without_echoing_it():
    with pytest.raises(ValidationError) as info:
        load_settings({"PORFIN_METRICS_TOKEN": "secret"})
    assert info.value.fields == {"field": "metrics_token"}
    assert "secret" not in info.value.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[porfin]\naccess_log = 1\n", "access_log"),
        ("[porfin]\ncors_origins = 3\n", "cors_origins"),
        ("[porfin]\ncors_origins = [1]\n", "cors_origins"),
        ("[porfin]\nhsts_max_age = true\n", "hsts_max_age"),
    ],
)
def test_operations_values_of_the_wrong_type_in_the_file(empty_dir, body, field):
    config = write_config(empty_dir / "bad.toml", body)
    with pytest.raises(ValidationError) as info:
        load_settings({"PORFIN_CONFIG": str(config)})
    assert info.value.fields == {"field": field}
