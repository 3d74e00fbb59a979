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
    variable's name, never the credentials."""

    url: str

    def engine(self) -> sa.Engine:
        return db.create_engine(self.url)

    @contextmanager
    def connect(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        with db.connect(self.url, autocommit=autocommit) as conn:
            yield conn

    def shadow_url(self) -> str | None:
        """`SHADOW_DATABASE_URL`, read when needed so it never enters run config or the UI."""
        shadow = load_settings().shadow_database_url
        return shadow.get_secret_value() if shadow else None

    @property
    def display_url(self) -> str:
        return mask_url(self.url) or ""
