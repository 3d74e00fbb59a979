"""Reference terminologies: LOINC, SNOMED CT, RxNorm, ICD-10-CM, CPT and lab mappings.

Generated from the repaired Prisma schema, then reviewed; table, column, index and constraint
names are Prisma's exactly (the catalog test compares them with the reference DDL)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from hv_pipelines.schema.base import Base, new_cuid, utcnow
from hv_pipelines.schema.enums import ComponentType, LOINCCategory, ReferenceRangeType, UnitSystem, pg_enum

if TYPE_CHECKING:
    from hv_pipelines.schema.ehr import FHIRResource
    from hv_pipelines.schema.users import User


class CPTCode(Base):
    __tablename__ = "CPTCode"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="CPTCode_pkey"),
        sa.Index("CPTCode_code_key", "code", unique=True),
        sa.Index("CPTCode_code_idx", "code"),
        sa.Index("CPTCode_description_idx", "description"),
        sa.Index("CPTCode_category_idx", "category"),
        sa.Index("CPTCode_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    code: Mapped[str] = mapped_column()
    description: Mapped[str] = mapped_column()
    short_description: Mapped[str | None] = mapped_column("shortDescription")
    category: Mapped[str] = mapped_column()
    subcategory: Mapped[str | None] = mapped_column()
    rvu_work: Mapped[float | None] = mapped_column("rvuWork")
    rvu_practice: Mapped[float | None] = mapped_column("rvuPractice")
    rvu_malpractice: Mapped[float | None] = mapped_column("rvuMalpractice")
    status: Mapped[str] = mapped_column(server_default=sa.text("'ACTIVE'"))
    effective_date: Mapped[datetime] = mapped_column(
        "effectiveDate", server_default=sa.text("CURRENT_TIMESTAMP")
    )
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class CodeMapping(Base):
    __tablename__ = "CodeMapping"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="CodeMapping_pkey"),
        sa.ForeignKeyConstraint(
            ["loincCode"],
            ["LOINCCode.loincNumber"],
            name="CodeMapping_loincCode_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("CodeMapping_loincCode_idx", "loincCode"),
        sa.Index("CodeMapping_targetSystem_idx", "targetSystem"),
        sa.Index("CodeMapping_targetCode_idx", "targetCode"),
        sa.Index("CodeMapping_confidence_idx", "confidence"),
        sa.Index(
            "CodeMapping_loincCode_targetSystem_targetCode_key",
            "loincCode",
            "targetSystem",
            "targetCode",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    loinc_code: Mapped[str] = mapped_column("loincCode")
    target_system: Mapped[str] = mapped_column("targetSystem")
    target_code: Mapped[str] = mapped_column("targetCode")
    target_name: Mapped[str | None] = mapped_column("targetName")
    relationship: Mapped[str] = mapped_column()
    confidence: Mapped[float] = mapped_column(server_default=sa.text("1.0"))
    source: Mapped[str] = mapped_column(server_default=sa.text("'Manual'"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))

    loinc: Mapped[LOINCCode] = orm.relationship(
        foreign_keys="[CodeMapping.loinc_code]", back_populates="mappings"
    )


class ICD10Code(Base):
    __tablename__ = "ICD10Code"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="ICD10Code_pkey"),
        sa.Index("ICD10Code_code_key", "code", unique=True),
        sa.Index("ICD10Code_code_idx", "code"),
        sa.Index("ICD10Code_description_idx", "description"),
        sa.Index("ICD10Code_category_idx", "category"),
        sa.Index("ICD10Code_billable_idx", "billable"),
        sa.Index("ICD10Code_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    code: Mapped[str] = mapped_column()
    description: Mapped[str] = mapped_column()
    short_description: Mapped[str | None] = mapped_column("shortDescription")
    category: Mapped[str] = mapped_column()
    subcategory: Mapped[str | None] = mapped_column()
    billable: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    status: Mapped[str] = mapped_column(server_default=sa.text("'ACTIVE'"))
    effective_date: Mapped[datetime] = mapped_column(
        "effectiveDate", server_default=sa.text("CURRENT_TIMESTAMP")
    )
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class LOINCCode(Base):
    __tablename__ = "LOINCCode"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="LOINCCode_pkey"),
        sa.Index("LOINCCode_loincNumber_key", "loincNumber", unique=True),
        sa.Index("LOINCCode_loincNumber_idx", "loincNumber"),
        sa.Index("LOINCCode_component_idx", "component"),
        sa.Index("LOINCCode_category_idx", "category"),
        sa.Index("LOINCCode_componentType_idx", "componentType"),
        sa.Index("LOINCCode_status_idx", "status"),
        sa.Index("LOINCCode_commonName_idx", "commonName"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    loinc_number: Mapped[str] = mapped_column("loincNumber")
    component: Mapped[str] = mapped_column()
    property: Mapped[str] = mapped_column()
    time_aspect: Mapped[str] = mapped_column("timeAspect")
    system: Mapped[str] = mapped_column()
    scale: Mapped[str] = mapped_column()
    method: Mapped[str | None] = mapped_column()
    category: Mapped[LOINCCategory] = mapped_column(pg_enum(LOINCCategory))
    component_type: Mapped[ComponentType] = mapped_column("componentType", pg_enum(ComponentType))
    common_name: Mapped[str] = mapped_column("commonName")
    short_name: Mapped[str] = mapped_column("shortName")
    long_name: Mapped[str] = mapped_column("longName")
    related_names: Mapped[list[str] | None] = mapped_column("relatedNames", ARRAY(sa.Text))
    status: Mapped[str] = mapped_column(server_default=sa.text("'ACTIVE'"))
    version: Mapped[str] = mapped_column(server_default=sa.text("'2.76'"))
    effective_date: Mapped[datetime] = mapped_column(
        "effectiveDate", server_default=sa.text("CURRENT_TIMESTAMP")
    )
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    units: Mapped[list[LOINCUnit]] = orm.relationship(
        foreign_keys="[LOINCUnit.loinc_code_id]",
        back_populates="loinc_code",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    reference_ranges: Mapped[list[ReferenceRange]] = orm.relationship(
        foreign_keys="[ReferenceRange.loinc_code_id]",
        back_populates="loinc_code",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    mappings: Mapped[list[CodeMapping]] = orm.relationship(
        foreign_keys="[CodeMapping.loinc_code]",
        back_populates="loinc",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    lab_results: Mapped[list[LabResultStandardization]] = orm.relationship(
        foreign_keys="[LabResultStandardization.loinc_code_id]", back_populates="loinc_code"
    )


class LOINCUnit(Base):
    __tablename__ = "LOINCUnit"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="LOINCUnit_pkey"),
        sa.ForeignKeyConstraint(
            ["loincCodeId"],
            ["LOINCCode.id"],
            name="LOINCUnit_loincCodeId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("LOINCUnit_loincCodeId_idx", "loincCodeId"),
        sa.Index("LOINCUnit_unit_idx", "unit"),
        sa.Index("LOINCUnit_isPrimary_idx", "isPrimary"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    loinc_code_id: Mapped[str] = mapped_column("loincCodeId")
    unit: Mapped[str] = mapped_column()
    ucum_code: Mapped[str] = mapped_column("ucumCode")
    unit_system: Mapped[UnitSystem] = mapped_column("unitSystem", pg_enum(UnitSystem))
    conversion_factor: Mapped[float | None] = mapped_column("conversionFactor")
    is_primary: Mapped[bool] = mapped_column("isPrimary", server_default=sa.text("false"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))

    loinc_code: Mapped[LOINCCode] = orm.relationship(
        foreign_keys="[LOINCUnit.loinc_code_id]", back_populates="units"
    )


class LabResultStandardization(Base):
    __tablename__ = "LabResultStandardization"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="LabResultStandardization_pkey"),
        sa.ForeignKeyConstraint(
            ["loincCodeId"],
            ["LOINCCode.id"],
            name="LabResultStandardization_loincCodeId_fkey",
            ondelete="RESTRICT",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referenceRangeId"],
            ["ReferenceRange.id"],
            name="LabResultStandardization_referenceRangeId_fkey",
            ondelete="SET NULL",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customerId"],
            ["users.id"],
            name="LabResultStandardization_customerId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fhirResourceId"],
            ["fhir_resources.id"],
            name="LabResultStandardization_fhirResourceId_fkey",
            ondelete="SET NULL",
            onupdate="CASCADE",
        ),
        sa.Index(
            "LabResultStandardization_originalCode_originalCodeSystem_idx",
            "originalCode",
            "originalCodeSystem",
        ),
        sa.Index("LabResultStandardization_loincCodeId_idx", "loincCodeId"),
        sa.Index("LabResultStandardization_customerId_idx", "customerId"),
        sa.Index("LabResultStandardization_interpretation_idx", "interpretation"),
        sa.Index("LabResultStandardization_standardizedAt_idx", "standardizedAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    original_code: Mapped[str] = mapped_column("originalCode")
    original_code_system: Mapped[str] = mapped_column("originalCodeSystem")
    original_name: Mapped[str] = mapped_column("originalName")
    original_value: Mapped[str] = mapped_column("originalValue")
    original_unit: Mapped[str | None] = mapped_column("originalUnit")
    loinc_code_id: Mapped[str] = mapped_column("loincCodeId")
    standardized_value: Mapped[float | None] = mapped_column("standardizedValue")
    standardized_unit: Mapped[str | None] = mapped_column("standardizedUnit")
    interpretation: Mapped[str | None] = mapped_column()
    flags: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    reference_range_id: Mapped[str | None] = mapped_column("referenceRangeId")
    customer_id: Mapped[str] = mapped_column("customerId")
    fhir_resource_id: Mapped[str | None] = mapped_column("fhirResourceId")
    standardized_at: Mapped[datetime] = mapped_column(
        "standardizedAt", server_default=sa.text("CURRENT_TIMESTAMP")
    )
    standardized_by: Mapped[str] = mapped_column("standardizedBy", server_default=sa.text("'SYSTEM'"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    loinc_code: Mapped[LOINCCode] = orm.relationship(
        foreign_keys="[LabResultStandardization.loinc_code_id]", back_populates="lab_results"
    )
    reference_range: Mapped[ReferenceRange | None] = orm.relationship(
        foreign_keys="[LabResultStandardization.reference_range_id]", back_populates="lab_results"
    )
    customer: Mapped[User] = orm.relationship(
        foreign_keys="[LabResultStandardization.customer_id]", back_populates="lab_result_standardizations"
    )
    fhir_resource: Mapped[FHIRResource | None] = orm.relationship(
        foreign_keys="[LabResultStandardization.fhir_resource_id]",
        back_populates="lab_result_standardizations",
    )


class ReferenceRange(Base):
    __tablename__ = "ReferenceRange"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="ReferenceRange_pkey"),
        sa.ForeignKeyConstraint(
            ["loincCodeId"],
            ["LOINCCode.id"],
            name="ReferenceRange_loincCodeId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("ReferenceRange_loincCodeId_idx", "loincCodeId"),
        sa.Index("ReferenceRange_type_idx", "type"),
        sa.Index("ReferenceRange_gender_idx", "gender"),
        sa.Index("ReferenceRange_ageMin_ageMax_idx", "ageMin", "ageMax"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    loinc_code_id: Mapped[str] = mapped_column("loincCodeId")
    type: Mapped[ReferenceRangeType] = mapped_column(
        pg_enum(ReferenceRangeType), server_default=sa.text("'NORMAL'")
    )
    low_value: Mapped[float | None] = mapped_column("lowValue")
    high_value: Mapped[float | None] = mapped_column("highValue")
    unit: Mapped[str] = mapped_column()
    age_min: Mapped[int | None] = mapped_column("ageMin")
    age_max: Mapped[int | None] = mapped_column("ageMax")
    gender: Mapped[str | None] = mapped_column()
    condition: Mapped[str | None] = mapped_column()
    population: Mapped[str | None] = mapped_column()
    source: Mapped[str] = mapped_column(server_default=sa.text("'Mayo Clinic'"))
    effective_date: Mapped[datetime] = mapped_column(
        "effectiveDate", server_default=sa.text("CURRENT_TIMESTAMP")
    )
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))

    loinc_code: Mapped[LOINCCode] = orm.relationship(
        foreign_keys="[ReferenceRange.loinc_code_id]", back_populates="reference_ranges"
    )
    lab_results: Mapped[list[LabResultStandardization]] = orm.relationship(
        foreign_keys="[LabResultStandardization.reference_range_id]", back_populates="reference_range"
    )


class RxNormCode(Base):
    __tablename__ = "RxNormCode"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="RxNormCode_pkey"),
        sa.Index("RxNormCode_rxcui_key", "rxcui", unique=True),
        sa.Index("RxNormCode_rxcui_idx", "rxcui"),
        sa.Index("RxNormCode_name_idx", "name"),
        sa.Index("RxNormCode_termType_idx", "termType"),
        sa.Index("RxNormCode_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    rxcui: Mapped[str] = mapped_column()
    name: Mapped[str] = mapped_column()
    synonym: Mapped[str | None] = mapped_column()
    term_type: Mapped[str] = mapped_column("termType")
    strength: Mapped[str | None] = mapped_column()
    dose_form: Mapped[str | None] = mapped_column("doseForm")
    ingredients: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    brand_names: Mapped[list[str] | None] = mapped_column("brandNames", ARRAY(sa.Text))
    status: Mapped[str] = mapped_column(server_default=sa.text("'ACTIVE'"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class SNOMEDCode(Base):
    __tablename__ = "SNOMEDCode"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="SNOMEDCode_pkey"),
        sa.Index("SNOMEDCode_snomedId_key", "snomedId", unique=True),
        sa.Index("SNOMEDCode_snomedId_idx", "snomedId"),
        sa.Index("SNOMEDCode_preferredTerm_idx", "preferredTerm"),
        sa.Index("SNOMEDCode_semanticTag_idx", "semanticTag"),
        sa.Index("SNOMEDCode_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    snomed_id: Mapped[str] = mapped_column("snomedId")
    preferred_term: Mapped[str] = mapped_column("preferredTerm")
    fully_specified: Mapped[str] = mapped_column("fullySpecified")
    synonyms: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    semantic_tag: Mapped[str] = mapped_column("semanticTag")
    hierarchy: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    status: Mapped[str] = mapped_column(server_default=sa.text("'ACTIVE'"))
    effective_date: Mapped[datetime] = mapped_column(
        "effectiveDate", server_default=sa.text("CURRENT_TIMESTAMP")
    )
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)
