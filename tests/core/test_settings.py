import pytest

from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.settings import load_settings, mask_url

KEY = "ab" * 32


def test_repr_masks_secrets(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://hv:s3cr3t-pw@db.internal:5432/holovitals")
    monkeypatch.setenv("ENCRYPTION_KEY", KEY)
    settings = load_settings()
    shown = repr(settings) + str(settings)
    assert "s3cr3t-pw" not in shown and KEY not in shown
    assert "hv:***@db.internal" in shown
    assert settings.encryption_key.get_secret_value() == KEY


def test_configuration_error_never_echoes_the_key(monkeypatch):
    bad = "zz" + "0123456789abcdef" * 3 + "not-hex-secret"
    monkeypatch.setenv("ENCRYPTION_KEY", bad)
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    assert "ENCRYPTION_KEY" in str(err.value)
    assert bad not in str(err.value) and "not-hex-secret" not in repr(err.value)
    assert err.value.__cause__ is None and err.value.__context__ is None


def test_missing_database_url_says_what_to_do():
    with pytest.raises(ConfigurationError, match="hv dev"):
        load_settings().require_database_url()


def test_mask_url_keeps_host_and_user():
    assert mask_url("postgresql://u:p@h/db?x=1") == "postgresql://u:***@h/db?x=1"
    assert mask_url("postgresql://h/db") == "postgresql://h/db"
