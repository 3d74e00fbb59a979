"""What each EHR vendor's Bulk Data implementation supports, so a connection asks for what works.

These encode our integration's assumptions from the vendors' public developer documentation; the
EHR's onboarding (client registration, group ids, granted scopes) is the authority for a given site.
`hv ehr connect` reads the default export level from here; `docs/ehr.md` lists the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

from hv_pipelines.core.bulkdata.client import ExportLevel
from hv_pipelines.core.errors import ConfigurationError

# The resource types HoloVitals maps into the customer repository, plus those shown to the user as-is.
CLINICAL_TYPES = (
    "Patient", "Condition", "MedicationRequest", "MedicationStatement", "AllergyIntolerance",
    "Immunization", "Procedure", "Observation", "FamilyMemberHistory", "DocumentReference",
    "DiagnosticReport", "Encounter",
)


@dataclass(frozen=True)
class ProviderProfile:
    provider: str  # the EHRProvider enum value
    display_name: str
    export_levels: tuple[ExportLevel, ...]  # supported levels, the preferred one first
    scopes: str
    supports_type_filter: bool
    default_types: tuple[str, ...]
    max_parallel_downloads: int
    quirks: tuple[str, ...]

    @property
    def default_level(self) -> ExportLevel:
        return self.export_levels[0]

    def check_level(self, level: ExportLevel) -> None:
        if level not in self.export_levels:
            supported = ", ".join(level.value for level in self.export_levels)
            raise ConfigurationError(f"{self.display_name} does not support {level.value}-level export "
                                     f"(supported: {supported}); choose one of those levels")


_SYSTEM_READ = " ".join(f"system/{t}.read" for t in CLINICAL_TYPES)

PROFILES: dict[str, ProviderProfile] = {p.provider: p for p in (
    ProviderProfile(
        "EPIC", "Epic", (ExportLevel.GROUP,), _SYSTEM_READ, supports_type_filter=False,
        default_types=CLINICAL_TYPES, max_parallel_downloads=4,
        quirks=("Group export only: the group id is the Epic registry/population id the site configures",
                "list `_type` explicitly: an export of every type of a large group takes many hours",
                "one running export per group and client: a second kick-off is refused until it completes")),
    ProviderProfile(
        "CERNER", "Oracle Health (Cerner)", (ExportLevel.GROUP,), _SYSTEM_READ, supports_type_filter=False,
        default_types=CLINICAL_TYPES, max_parallel_downloads=4,
        quirks=("Group export only, group id issued per tenant by Oracle Health",
                "output URLs expire after a few hours: an expired file triggers a fresh kick-off")),
    ProviderProfile(
        "ATHENAHEALTH", "athenahealth", (ExportLevel.GROUP,), _SYSTEM_READ, supports_type_filter=False,
        default_types=CLINICAL_TYPES, max_parallel_downloads=2,
        quirks=("Group export per practice; the group id embeds the practice id",
                "tight rate limits: 429s are common, keep parallel downloads low")),
    ProviderProfile(
        "ECLINICALWORKS", "eClinicalWorks", (ExportLevel.GROUP,), _SYSTEM_READ, supports_type_filter=False,
        default_types=CLINICAL_TYPES, max_parallel_downloads=2,
        quirks=("Group export with the group id the practice provides at onboarding",)),
    ProviderProfile(
        "ALLSCRIPTS", "Allscripts (Veradigm)", (ExportLevel.GROUP, ExportLevel.SYSTEM), _SYSTEM_READ,
        supports_type_filter=False, default_types=CLINICAL_TYPES, max_parallel_downloads=4,
        quirks=("Group export preferred; system-level export is available on some products",)),
    ProviderProfile(
        "OTHER", "Other FHIR R4 server", (ExportLevel.PATIENT, ExportLevel.GROUP, ExportLevel.SYSTEM),
        "system/*.read", supports_type_filter=True, default_types=CLINICAL_TYPES, max_parallel_downloads=4,
        quirks=("generic Bulk Data 2.0 server (e.g. the SMART reference server or HAPI)",)),
)}


def profile_for(provider: str) -> ProviderProfile:
    """The profile of `provider` (an EHRProvider value); providers without one use the generic profile."""
    return PROFILES.get(provider.upper(), PROFILES["OTHER"])
