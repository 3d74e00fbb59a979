"""Group `standardization`: where the EHR data and the terminologies meet.

`lab_result_standardizations` (one partition per EHR connection, like the `ehr` group) standardizes
the connection's lab results and checks how much of its coding the loaded terminologies know;
`terminology_coverage` reports that across every connection, as a table and as numbers the UI plots.
"""

import dagster as dg

from hv_pipelines.assets.ehr import customer_clinical_records, ehr_connection_partitions
from hv_pipelines.core.standardize import standardize_stage
from hv_pipelines.core.standardize.report import coverage_frame, coverage_table, mapping_rates, markdown
from hv_pipelines.resources import Database

OWNERS = ["team:data-platform"]
WARN = dg.AssetCheckSeverity.WARN


class StandardizeConfig(dg.Config):
    codes_resolve_threshold: float = 0.95
    units_convert_threshold: float = 0.95


@dg.asset(
    group_name="standardization", partitions_def=ehr_connection_partitions, owners=OWNERS, kinds={"postgres"},
    deps=[customer_clinical_records, dg.AssetKey("loinc_codes")],
    check_specs=[
        dg.AssetCheckSpec("codes_resolve", asset="lab_result_standardizations",
                          description="Share of the connection's codings each loaded terminology knows and "
                          "holds active (WARN below the threshold; unknown and inactive codes listed)."),
        dg.AssetCheckSpec("units_convert", asset="lab_result_standardizations",
                          description="Share of quantitative lab results converted to their LOINC term's "
                          "primary UCUM unit (WARN below the threshold, with the reasons)."),
    ],
    description="The connection's laboratory and vital-signs results in LabResultStandardization: LOINC code, "
    "value in the term's primary UCUM unit, reference range by sex and age, interpretation.",
)
def lab_result_standardizations(context: dg.AssetExecutionContext, config: StandardizeConfig,
                                 db: Database) -> dg.MaterializeResult:
    outcome = standardize_stage(db.url_for("ehr"), context.partition_key)
    counts, report = outcome.counts, outcome.coverage
    if not outcome.patient_resolved:
        context.log.warning("the connection names no patient: set ehr_connections.customer_id")
    shares = report.share_by_system()
    low = {system: share for system, share in shares.items()
           if share is not None and share < config.codes_resolve_threshold}
    unmapped = [f"{system}|{code}" for (code, system), _ in counts.unmapped.most_common(50)]
    return dg.MaterializeResult(
        metadata={
            "results": counts.results, "standardized": counts.standardized, "converted": counts.converted,
            "quantitative": counts.quantitative, "inserted": counts.inserted, "updated": counts.updated,
            "removed": counts.removed, "unmapped_results": sum(counts.unmapped.values()),
            "unmapped_codes": dg.MetadataValue.json(unmapped),
            "interpretations": dg.MetadataValue.json(dict(counts.interpretations)),
            "reference_ranges_added": outcome.ranges.inserted,
            "duration_seconds": round(outcome.duration, 2),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="codes_resolve", passed=not low, severity=WARN,
                description=(f"below {config.codes_resolve_threshold:.0%}: " + ", ".join(
                    f"{s} {v:.0%}" for s, v in low.items()) + ". Load the missing release or map the local "
                    "codes (docs/standardization.md).") if low else "every loaded terminology resolves enough",
                metadata={"share_by_system": dg.MetadataValue.json(shares),
                          "unknown_codes": dg.MetadataValue.json(report.unknown_codes),
                          "inactive_codes": dg.MetadataValue.json(report.inactive_codes)}),
            dg.AssetCheckResult(
                check_name="units_convert", passed=counts.converted_share >= config.units_convert_threshold,
                severity=WARN, metadata={"converted_share": round(counts.converted_share, 4),
                                         "not_converted": dg.MetadataValue.json(dict(counts.not_converted))}),
        ],
    )


@dg.asset(
    group_name="standardization", owners=OWNERS, kinds={"pandas", "postgres"},
    deps=[lab_result_standardizations],
    description="Terminology coverage across every EHR connection: per code system and resource type, "
    "codings resolved, inactive and unknown, and the mapping rate (plotted over time).",
)
def terminology_coverage(context: dg.AssetExecutionContext, db: Database) -> dg.MaterializeResult:
    frame = coverage_frame(db.url)
    rates = mapping_rates(frame)
    return dg.MaterializeResult(metadata={
        "connections": int(frame["connection"].nunique()),
        "coverage": dg.MetadataValue.md(markdown(coverage_table(frame)) if not frame.empty
                                        else "no coded records yet"),
        # One number per system: the UI plots each across materializations (mapping rates over time).
        **{"rate_" + "".join(ch if ch.isalnum() else "_" for ch in system.lower()): rate
           for system, rate in rates.items()},
    })


standardization_assets = [lab_result_standardizations, terminology_coverage]
