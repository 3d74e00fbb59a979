"""The target PostgreSQL database as a Dagster resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
import sqlalchemy as sa

from hv_pipelines.core import db
from hv_pipelines.core.settings import load_settings, mask_url


class Database(dg.ConfigurableResource):
    """The HoloVitals database. Configure `url` with `dg.EnvVar("DATABASE_URL")` so the UI shows the
    variable's name, never the credentials. Each kind of job connects as its own login through
    `url_for(domain)` (`HV_DATABASE_URL_<DOMAIN>`, docs/security.md), which falls back to `url`."""

    url: str

    def url_for(self, domain: str) -> str:
        """The URL `domain`'s jobs connect with, read when needed so it never enters run config or the UI."""
        own = getattr(load_settings(), f"database_url_{domain}")
        return own.get_secret_value() if own is not None else self.url

    def engine(self) -> sa.Engine:
        return db.create_engine(self.url)

    @contextmanager
    def connect(self, *, autocommit: bool = False, domain: str | None = None) -> Iterator[psycopg.Connection]:
        with db.connect(self.url_for(domain) if domain else self.url, autocommit=autocommit) as conn:
            yield conn

    def shadow_url(self) -> str | None:
        """`SHADOW_DATABASE_URL`, read when needed so it never enters run config or the UI."""
        shadow = load_settings().shadow_database_url
        return shadow.get_secret_value() if shadow else None

    @property
    def display_url(self) -> str:
        return mask_url(self.url) or ""
