"""The HoloVitals database as SQLAlchemy models: 93 tables and 45 enum types, one module per area.

`metadata` is what Alembic autogenerates against and what drift is measured from.
"""

from hv_pipelines.schema import (  # noqa: F401  (importing registers every table on Base.metadata)
    ai,
    billing,
    compliance,
    customers,
    documents,
    ehr,
    system,
    terminology,
    users,
)
from hv_pipelines.schema.base import Base

metadata = Base.metadata

__all__ = ["Base", "metadata"]
