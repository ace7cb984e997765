"""Settings: read from LAUREL_* variables, refusing what would be unsafe or wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import DEFAULT_DATABASE_URL, Environment, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the development secret is written under ./var
    for name in ("ENV", "DATABASE_URL", "REDIS_URL", "JWT_SECRET", "TIMEZONE"):
        monkeypatch.delenv(f"LAUREL_{name}", raising=False)


def test_defaults_are_an_embedded_development_setup(tmp_path):
    settings = Settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.embedded and settings.redis_url is None
    assert settings.timezone == "Asia/Shanghai"
    # A random secret is generated and kept in var/, so that `laurel token` (another
    # process) signs what the server accepts; it is flagged so the app warns about it.
    assert settings.jwt_secret and settings.jwt_secret_generated
    assert Settings().jwt_secret == settings.jwt_secret
    assert (tmp_path / "var" / "dev-jwt-secret").read_text().strip() == settings.jwt_secret
    assert (tmp_path / "var" / "dev-jwt-secret").stat().st_mode & 0o077 == 0


def test_values_come_from_laurel_variables(monkeypatch):
    monkeypatch.setenv("LAUREL_DATABASE_URL", "postgres://u@db:5432/laurel")
    monkeypatch.setenv("LAUREL_REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("LAUREL_TIMEZONE", "Europe/Berlin")
    settings = Settings()
    assert settings.database_url == "postgres://u@db:5432/laurel"
    assert settings.redis_url == "redis://cache:6379/1" and not settings.embedded
    assert settings.zone.key == "Europe/Berlin"


def test_an_empty_redis_url_means_embedded_mode(monkeypatch):
    monkeypatch.setenv("LAUREL_REDIS_URL", "")
    assert Settings().embedded


def test_production_requires_a_jwt_secret(monkeypatch):
    monkeypatch.setenv("LAUREL_ENV", "production")
    with pytest.raises(ValidationError, match="LAUREL_JWT_SECRET is required"):
        Settings()
    monkeypatch.setenv("LAUREL_JWT_SECRET", "short")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings()
    monkeypatch.setenv("LAUREL_JWT_SECRET", "s" * 40)
    settings = Settings()
    assert settings.is_production and not settings.jwt_secret_generated


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("DATABASE_URL", "mysql://x/y", "unsupported database"),
        ("ENV", "staging", "development"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(monkeypatch, name, value, complaint):
    monkeypatch.setenv(f"LAUREL_{name}", value)
    with pytest.raises(ValidationError, match=complaint):
        Settings()


def test_rs256_needs_a_public_key(monkeypatch):
    monkeypatch.setenv("LAUREL_JWT_ALGORITHM", "RS256")
    with pytest.raises(ValidationError, match="LAUREL_JWT_PUBLIC_KEY"):
        Settings()


def test_the_secret_is_not_shown_in_repr():
    assert "hunter2" not in repr(Settings(jwt_secret="hunter2" * 5))
