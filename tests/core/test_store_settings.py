"""`hv wal`'s pydantic-free reader of the store and key settings gives what `Settings` gives, errors included."""

from __future__ import annotations

import os

import pytest

from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.store_settings import load_store_settings

KEY, OLD = "ab" * 32, "cd" * 32
NAMES = ("HV_OBJECT_STORE_URL", "ENCRYPTION_KEY", "HV_ENCRYPTION_KEYS_RETIRED", "HV_KMS_KEY_ID",
         "HV_S3_ENDPOINT_URL", "HV_S3_SSE")

CASES = {
    "nothing set": ({}, ""),
    "environment": ({"HV_OBJECT_STORE_URL": "s3://b/p", "ENCRYPTION_KEY": KEY, "HV_ENCRYPTION_KEYS_RETIRED":
                     f" {OLD} ,", "HV_KMS_KEY_ID": "arn:k", "HV_S3_ENDPOINT_URL": "http://s3", "HV_S3_SSE": "aws:kms"},
                    ""),
    "dotenv file only": ({}, f"HV_OBJECT_STORE_URL=file:///srv/o\nENCRYPTION_KEY='{KEY}'\nHV_S3_SSE=aws:kms\n"),
    "environment wins over the dotenv file": ({"HV_OBJECT_STORE_URL": "file:///env"},
                                              "HV_OBJECT_STORE_URL=file:///dotenv\n"),
    "lower-case names": ({"hv_object_store_url": "file:///lower", "encryption_key": KEY}, ""),
    "empty retired keys": ({"ENCRYPTION_KEY": KEY, "HV_ENCRYPTION_KEYS_RETIRED": ""}, ""),
}
BAD = {
    "malformed key": ({"ENCRYPTION_KEY": "zz" * 32}, ""),
    "empty key": ({"ENCRYPTION_KEY": ""}, ""),
    "malformed key in the dotenv file": ({}, "ENCRYPTION_KEY=12345\n"),
    "malformed retired key": ({"ENCRYPTION_KEY": KEY, "HV_ENCRYPTION_KEYS_RETIRED": f"{OLD},beef"}, ""),
}


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """Set exactly `variables` and a dotenv file holding `dotenv`, nothing else of the six."""

    def apply(variables: dict[str, str], dotenv: str) -> None:
        for name in list(os.environ):
            if name.upper() in NAMES:
                monkeypatch.delenv(name)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        (tmp_path / "hv.env").write_text(dotenv)
        monkeypatch.setenv("HV_DOTENV", str(tmp_path / "hv.env"))

    return apply


def _seen(settings) -> tuple:
    key = settings.encryption_key.get_secret_value() if settings.encryption_key is not None else None
    return (settings.object_store_url, key, settings.retired_keys, settings.kms_key_id, settings.s3_endpoint_url,
            settings.s3_sse)


@pytest.mark.parametrize("case", CASES)
def test_the_store_settings_are_what_settings_reads(environment, case):
    environment(*CASES[case])
    assert _seen(load_store_settings()) == _seen(load_settings())


@pytest.mark.parametrize("case", BAD)
def test_a_malformed_key_is_the_same_error_naming_the_variable_never_its_value(environment, case):
    environment(*BAD[case])
    with pytest.raises(ConfigurationError) as theirs:
        _seen(load_settings())
    with pytest.raises(ConfigurationError) as ours:
        _seen(load_store_settings())
    assert str(ours.value) == str(theirs.value)
    assert "zz" * 32 not in str(ours.value) and "beef" not in str(ours.value) and "12345" not in str(ours.value)


def test_the_key_is_masked_when_shown(environment):
    environment({"ENCRYPTION_KEY": KEY}, "")
    settings = load_store_settings()
    assert KEY not in repr(settings) + str(settings)
