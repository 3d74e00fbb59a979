"""Terminology coverage across every EHR connection, as a DataFrame: the one place pandas earns its keep.

The per-connection figures come from `coverage.scope_coverage` over every connection; the report
stacks them so that the asset can group by code system and resource type and compute mapping rates. It reads only; the
load and ingest hot paths never import pandas.
"""

from __future__ import annotations

import pandas as pd

from hv_pipelines.core import db
from hv_pipelines.core.standardize.coverage import scope_coverage
from hv_pipelines.core.standardize.scope import create_scope

COLUMNS = ["connection", "system", "resource_type", "resolved", "inactive", "unknown", "no_terminology"]


def coverage_frame(db_url: str) -> pd.DataFrame:
    """One row per (connection, code system, resource type), in one transaction that writes nothing
    (its temporary tables are dropped with it)."""
    with db.connect(db_url) as conn:
        connection_ids = [c for (c,) in conn.execute("SELECT id FROM ehr_connections ORDER BY id")]
        create_scope(conn, connection_ids)
        report = scope_coverage(conn)
        conn.rollback()
    return pd.DataFrame([(r.connection_id, r.system, r.resource_type, r.resolved, r.inactive, r.unknown,
                          r.no_terminology) for r in report.rows], columns=COLUMNS)


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per code system and resource type: counts summed over connections and the share resolved."""
    table = frame.drop(columns="connection").groupby(["system", "resource_type"], as_index=False).sum()
    judged = table["resolved"] + table["inactive"] + table["unknown"]
    table["share"] = (table["resolved"] / judged.where(judged > 0)).round(4)
    return table


def mapping_rates(frame: pd.DataFrame) -> dict[str, float]:
    """Resolved share per code system over every connection (systems no terminology judges left out)."""
    by_system = frame.groupby("system")[["resolved", "inactive", "unknown"]].sum()
    judged = by_system.sum(axis=1)
    rates = (by_system["resolved"] / judged.where(judged > 0)).dropna()
    return {system: round(float(rate), 4) for system, rate in rates.items()}


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table for the UI (pandas' own `to_markdown` needs another package)."""
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    return header + "".join("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |\n"
                            for row in table.itertuples(index=False))
