"""The models generate ids and `updatedAt` in the client, as Prisma does."""

from __future__ import annotations

import re
import time

from sqlalchemy.orm import Session, configure_mappers

from hv_pipelines.core import db
from hv_pipelines.schema import metadata
from hv_pipelines.schema.base import new_cuid
from hv_pipelines.schema.compliance import AuditLog
from hv_pipelines.schema.enums import PermissionScope
from hv_pipelines.schema.users import Permission, Role, RolePermission, User


def test_every_model_maps_and_relations_resolve() -> None:
    configure_mappers()
    assert len(metadata.tables) == 93


def test_cuid_has_prismas_shape_and_is_unique() -> None:
    ids = {new_cuid() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(re.fullmatch(r"c[0-9a-z]{24}", i) for i in ids)


def test_rows_written_through_the_models_look_like_the_applications(migrated_db: str) -> None:
    engine = db.create_engine(migrated_db)
    with Session(engine) as session:
        role = Role(name="ANALYST", display_name="Analyst")
        perm = Permission(name="READ_PHI", display_name="Read PHI", resource="phi", action="read", scope=PermissionScope.OWN)
        user = User(email="a@example.org", password_hash="x")
        session.add_all([role, perm, user, RolePermission(role=role, permission=perm),
                         AuditLog(user=user, action="LOGIN", resource="session", resource_id="-",
                                  severity="INFO")])
        session.commit()
        assert re.fullmatch(r"c[0-9a-z]{24}", role.id)          # @default(cuid())
        assert re.fullmatch(r"[0-9a-f-]{36}", user.id)          # @default(uuid())
        first = role.updated_at
        assert first is not None
        time.sleep(0.01)
        role.description = "reads aggregate reports"
        session.commit()
        assert role.updated_at > first                           # @updatedAt on update
        assert [rp.permission.name for rp in role.permissions] == ["READ_PHI"]
    engine.dispose()
