"""Group `compliance`: the reviews of the maintenance calendar, as assets an operator reads in the UI.

`database_health` (weekly and on demand), `security_review_report` (weekly), `slow_query_review`
(quarterly) and `retention_policy_review` (yearly) only read the database. Their numbers become
Dagster metadata, plotted over time on each asset's page; what needs a person's attention is an
asset check with severity WARN, so a report that finds something is yellow, not a failed run.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from hv_pipelines.core import health, reviews
from hv_pipelines.core.units import human_size
from hv_pipelines.resources import Database

OWNERS = ["team:data-platform"]
REVIEW_OWNERS = ["team:data-platform", "team:security"]
WARN = dg.AssetCheckSeverity.WARN
LARGEST_TABLES_SHOWN = 15


def _bytes(n: int | None) -> str:
    return "locked" if n is None else human_size(n)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str = "_none_") -> dg.MetadataValue:
    rows = list(rows)
    if not rows:
        return dg.MetadataValue.md(empty)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _utc_now() -> datetime:
    """Naive UTC, like the schema's TIMESTAMP(3) columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def _statements_md(stats: health.StatementStats) -> dg.MetadataValue:
    if stats.unavailable_reason:
        return dg.MetadataValue.md(f"_{stats.unavailable_reason}_")
    return md_table(["query id", "calls", "total ms", "mean ms", "rows", "statement (normalised)"],
                    [(s.query_id, s.calls, f"{s.total_ms:.0f}", f"{s.mean_ms:.1f}", s.rows, f"`{s.text}`")
                     for s in stats.statements])


class HealthConfig(dg.Config):
    long_query_seconds: float = Field(default=300, description="Warn about statements running longer.")
    idle_in_transaction_seconds: float = Field(default=60, description="Warn about sessions idle inside "
                                               "a transaction longer (they hold locks and block vacuum).")
    dead_tuple_ratio: float = Field(default=0.2, description="Warn when dead / (live + dead) exceeds this …")
    dead_tuple_min: int = Field(default=10_000, description="… and the table has at least this many dead rows.")
    connection_utilization: float = Field(default=0.8, description="Warn above this share of max_connections.")


@dg.asset(
    group_name="compliance",
    kinds={"postgres"},
    owners=OWNERS,
    deps=["database_schema"],
    description="Weekly health of the HoloVitals database, read from PostgreSQL's statistics (nothing is "
    "written): connection time, size of every table (pg_total_relation_size), dead tuples, long-running "
    "and blocked sessions, and the top statements from pg_stat_statements when it is installed. Query "
    "texts are never shown, only command words and query ids.",
    check_specs=[
        dg.AssetCheckSpec("no_bloated_tables", asset="database_health",
                          description="No table's dead tuples exceed the configured ratio and floor."),
        dg.AssetCheckSpec("no_long_running_queries", asset="database_health",
                          description="No statement runs, and no session idles in a transaction, past the limits."),
        dg.AssetCheckSpec("no_blocked_sessions", asset="database_health",
                          description="No session is waiting for a lock another holds."),
        dg.AssetCheckSpec("connections_below_limit", asset="database_health",
                          description="Client connections stay below the share of max_connections."),
    ],
)
def database_health(context: dg.AssetExecutionContext, config: HealthConfig, db: Database) -> dg.MaterializeResult:
    thresholds = health.HealthThresholds(**config.model_dump())
    report = health.collect_database_health(db.url, thresholds)
    bloated = report.bloated_tables()
    context.log.info(f"{db.display_url}: {len(report.tables)} tables, {_bytes(report.database_bytes)}, "
                     f"{len(bloated)} bloated, {len(report.long_running)} long-running, "
                     f"{len(report.blocked)} blocked")
    tables = md_table(
        ["table", "total", "heap", "indexes", "live rows", "dead rows", "dead %", "last autovacuum"],
        [(t.name, _bytes(t.total_bytes), _bytes(t.table_bytes), _bytes(t.index_bytes), t.live_rows, t.dead_rows,
          f"{100 * t.dead_ratio:.0f}", t.last_autovacuum or "never") for t in report.tables[:LARGEST_TABLES_SHOWN]])
    sessions = md_table(["pid", "state", "seconds", "command", "query id", "waiting on", "application"],
                        [(s.pid, s.state, f"{s.seconds:.0f}", s.command, s.query_id or "-", s.wait_event or "-",
                          s.application or "-") for s in report.long_running])
    blocked = md_table(["pid", "blocked by", "seconds", "lock", "table"],
                       [(b.pid, ", ".join(map(str, b.blocked_by)), f"{b.seconds:.0f}", b.lock_type or "-",
                         b.relation or "-") for b in report.blocked])
    checks = [
        dg.AssetCheckResult(check_name="no_bloated_tables", passed=not bloated, severity=WARN,
                            description="VACUUM (ANALYZE) the listed tables, or tune their autovacuum settings"
                            if bloated else None,
                            metadata={"bloated_tables": len(bloated),
                                      "tables": ", ".join(t.name for t in bloated) or "-"}),
        dg.AssetCheckResult(check_name="no_long_running_queries", passed=not report.long_running, severity=WARN,
                            metadata={"sessions": len(report.long_running), "details": sessions}),
        dg.AssetCheckResult(check_name="no_blocked_sessions", passed=not report.blocked, severity=WARN,
                            metadata={"blocked_sessions": len(report.blocked), "details": blocked}),
        dg.AssetCheckResult(check_name="connections_below_limit",
                            passed=report.connection_utilization < thresholds.connection_utilization,
                            severity=WARN, metadata={"utilization": round(report.connection_utilization, 3)}),
    ]
    return dg.MaterializeResult(
        metadata={
            "database": db.display_url,
            "server_version": report.server_version,
            "connect_ms": report.connect_ms,
            "database_bytes": dg.MetadataValue.int(report.database_bytes),
            "database_size": _bytes(report.database_bytes),
            "tables": len(report.tables),
            "dead_tuples": sum(t.dead_rows for t in report.tables),
            "bloated_tables": len(bloated),
            "connections": report.connections,
            "max_connections": report.max_connections,
            "long_running_sessions": len(report.long_running),
            "blocked_sessions": len(report.blocked),
            "largest_tables": tables,
            "top_statements": _statements_md(report.statements),
        },
        check_results=checks,
    )


class SecurityReviewConfig(dg.Config):
    days: int = Field(default=7, description="Length of the reviewed window, ending now.")


@dg.asset(
    group_name="compliance",
    kinds={"postgres"},
    owners=REVIEW_OWNERS,
    deps=["database_schema"],
    description="Weekly security review: security_alerts by severity and type, failed logins, denied "
    "access, and PHI-access anomalies in audit_logs (accounts far above their peers' volume, access at "
    "night, emergency access, exports). Counts only: no user, patient or address leaves the database.",
    check_specs=[
        dg.AssetCheckSpec("urgent_alerts_acknowledged", asset="security_review_report",
                          description="Every critical or high security alert has been acknowledged."),
        dg.AssetCheckSpec("no_phi_access_anomalies", asset="security_review_report",
                          description="No unusual PHI access this week (volume, night, emergency access)."),
    ],
)
def security_review_report(context: dg.AssetExecutionContext, config: SecurityReviewConfig,
                           db: Database) -> dg.MaterializeResult:
    with db.connect() as conn:
        review = reviews.security_review(conn, window_end=_utc_now(), days=config.days)
    context.log.info(f"security review {review.window_start:%Y-%m-%d}..{review.window_end:%Y-%m-%d}: "
                     f"{review.alerts} alert(s), {review.failed_logins} failed login(s), "
                     f"{review.phi_anomalies} PHI-access anomaly signal(s)")
    checks = [
        dg.AssetCheckResult(check_name="urgent_alerts_acknowledged", passed=review.unacknowledged_urgent_alerts == 0,
                            severity=WARN, metadata={"unacknowledged": review.unacknowledged_urgent_alerts}),
        dg.AssetCheckResult(
            check_name="no_phi_access_anomalies", passed=review.phi_anomalies == 0, severity=WARN,
            description="follow up in the database: the README runbook, 'Security review warnings'"
            if review.phi_anomalies else None,
            metadata={"high_volume_accounts": review.high_volume_phi_accounts,
                      "night_access_events": review.night_phi_access_events,
                      "emergency_access_events": review.emergency_access_events}),
    ]
    return dg.MaterializeResult(
        metadata={
            "window_start": dg.MetadataValue.timestamp(review.window_start.replace(tzinfo=UTC)),
            "window_end": dg.MetadataValue.timestamp(review.window_end.replace(tzinfo=UTC)),
            "security_alerts": review.alerts,
            "unacknowledged_urgent_alerts": review.unacknowledged_urgent_alerts,
            "alerts_by_severity": md_table(["severity", "alerts"], review.alerts_by_severity.items()),
            "alerts_by_type": md_table(["type", "alerts"], review.alerts_by_type.items()),
            "failed_logins": review.failed_logins,
            "failed_login_accounts": review.failed_login_accounts,
            "accounts_at_lockout": review.accounts_at_lockout,
            "denied_access_events": review.denied_access_events,
            "phi_access_events": review.phi_access_events,
            "phi_access_accounts": review.phi_access_accounts,
            "phi_exports": review.phi_exports,
            "emergency_access_events": review.emergency_access_events,
            "night_phi_access_events": review.night_phi_access_events,
            "high_volume_phi_accounts": review.high_volume_phi_accounts,
            "highest_account_phi_events": review.highest_account_phi_events,
            "median_account_phi_events": review.median_account_phi_events,
            "audit_entries_awaiting_review": review.audit_entries_awaiting_review,
        },
        check_results=checks,
    )


@dg.asset(
    group_name="compliance",
    kinds={"postgres"},
    owners=OWNERS,
    deps=["database_schema"],
    description="Quarterly slow-query review: the slowest statements on average (pg_stat_statements, "
    "normalised text), tables read mostly by sequential scans, and indexes never used since the "
    "statistics were reset — candidates for a migration, never changed here.",
    check_specs=[dg.AssetCheckSpec("statement_statistics_available", asset="slow_query_review",
                                   description="pg_stat_statements is installed and loaded.")],
)
def slow_query_review(context: dg.AssetExecutionContext, db: Database) -> dg.MaterializeResult:
    review = health.review_slow_queries(db.url)
    context.log.info(f"{len(review.statements.statements)} slow statement(s), {len(review.seq_scan_heavy)} "
                     f"sequentially scanned table(s), {len(review.unused_indexes)} unused index(es)")
    reason = review.statements.unavailable_reason
    return dg.MaterializeResult(
        metadata={
            "slowest_statements": _statements_md(review.statements),
            "sequential_scan_tables": md_table(
                ["table", "live rows", "seq scans", "index scans"],
                [(t.name, t.live_rows, t.seq_scans, t.index_scans) for t in review.seq_scan_heavy]),
            "unused_indexes": md_table(["table", "index", "size"],
                                       [(t, i, _bytes(size)) for t, i, size in review.unused_indexes]),
            "unused_index_count": len(review.unused_indexes),
            "unused_index_bytes": dg.MetadataValue.int(sum(size for *_, size in review.unused_indexes)),
            "statistics_since": str(review.stats_reset or "server start"),
        },
        check_results=[dg.AssetCheckResult(check_name="statement_statistics_available", passed=reason is None,
                                           severity=WARN, description=reason)],
    )


@dg.asset(
    group_name="compliance",
    kinds={"postgres"},
    owners=REVIEW_OWNERS,
    deps=["database_schema", "data_retention_policies"],
    description="Yearly retention-policy review: every active data_retention_policies row checked "
    "against HIPAA's six-year minimum for audit logs, against itself (archive before delete, delete "
    "after retention), for expiry and staleness, and — where its dataType is a table — for rows "
    "overdue for archival or deletion.",
    check_specs=[dg.AssetCheckSpec("retention_policies_sound", asset="retention_policy_review",
                                   description="No active policy has a finding.")],
)
def retention_policy_review(context: dg.AssetExecutionContext, db: Database) -> dg.MaterializeResult:
    with db.connect() as conn:
        policies = reviews.retention_review(conn, now=_utc_now())
    findings = [(p.name, finding) for p in policies for finding in p.findings]
    context.log.info(f"{len(policies)} active retention polic(ies), {len(findings)} finding(s)")
    return dg.MaterializeResult(
        metadata={
            "active_policies": len(policies),
            "findings": len(findings),
            "policies": md_table(
                ["policy", "data type", "retention days", "archive after", "delete after", "days since update",
                 "rows past archive", "rows past delete"],
                [(p.name, p.data_type, p.retention_days, p.archive_after_days or "-", p.delete_after_days or "-",
                  p.days_since_update, "-" if p.rows_past_archive is None else p.rows_past_archive,
                  "-" if p.rows_past_delete is None else p.rows_past_delete) for p in policies]),
            "finding_details": md_table(["policy", "finding"], findings),
        },
        check_results=[dg.AssetCheckResult(
            check_name="retention_policies_sound", passed=bool(policies) and not findings, severity=WARN,
            description=None if policies else "no active retention policy: launch migrate_and_seed to seed them",
            metadata={"findings": len(findings)})],
    )
