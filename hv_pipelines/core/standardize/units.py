"""Unit conversion by UCUM, once per distinct (unit, target unit, molar mass), never per result.

The conversion itself is `ucumvert` (the UCUM grammar on pint): every unit an EHR sends is parsed as
UCUM, so `mg/dL`, `10*3/uL`, `[lb_av]` or `mm[Hg]` need no table of ours. `ucumate` (bindings to the
Java ucum core) was measured too; it needs a JVM on every machine that runs the pipeline, which
ucumvert does not, and the two agree on every conversion our tests pin.

What EHRs send is not always UCUM: a `Quantity.unit` is free text (`mg/dl`, `lbs`, `degF`, `mmHg`).
`SYNONYMS` resolves a short, reviewed list of such texts to their UCUM codes; anything else that does
not parse is reported as not UCUM, never guessed. A conversion between mass and amount of substance
(mg/dL ↔ mmol/L) needs the analyte's molar mass and is made only when one is known.

A conversion is returned as the affine map `value × factor + offset` (the offset is non-zero only for
temperatures), so the database applies it to every row of a pair in one set-based statement.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

# Unit texts seen in EHR exports that are not UCUM, and the UCUM code each means. Reviewed by hand:
# every entry is an unambiguous spelling of one unit (docs/standardization.md lists them).
SYNONYMS: dict[str, str] = {
    "lb": "[lb_av]", "lbs": "[lb_av]", "pound": "[lb_av]", "pounds": "[lb_av]",
    "oz": "[oz_av]", "in": "[in_i]", "inch": "[in_i]", "inches": "[in_i]", "ft": "[ft_i]",
    "degf": "[degF]", "°f": "[degF]", "f": "[degF]", "degc": "Cel", "°c": "Cel", "c": "Cel",
    "mmhg": "mm[Hg]", "mm hg": "mm[Hg]",
    "bpm": "/min", "beats/min": "/min", "beats/minute": "/min", "breaths/min": "/min", "/minute": "/min",
    "meq/l": "meq/L", "miu/ml": "m[IU]/mL", "uiu/ml": "u[IU]/mL", "µiu/ml": "u[IU]/mL", "iu/l": "[IU]/L",
    "mcg/dl": "ug/dL", "µg/dl": "ug/dL", "mcg/l": "ug/L", "µg/l": "ug/L", "mcg": "ug",
    "k/ul": "10*3/uL", "x10e3/ul": "10*3/uL", "10^3/ul": "10*3/uL", "thou/ul": "10*3/uL",
    "m/ul": "10*6/uL", "x10e6/ul": "10*6/uL", "10^6/ul": "10*6/uL", "mill/ul": "10*6/uL",
    "kg/m^2": "kg/m2", "kg/m²": "kg/m2",
}


class UnitError(ValueError):
    """A unit that cannot be converted; `flag` is the reason recorded on the result."""

    def __init__(self, flag: str, message: str):
        super().__init__(message)
        self.flag = flag


@dataclass(frozen=True)
class Conversion:
    """`target = value × factor + offset`."""

    factor: float
    offset: float = 0.0

    def apply(self, value: float) -> float:
        return value * self.factor + self.offset


@functools.cache
def _registry():
    from ucumvert import PintUcumRegistry  # ~1 s to build: only when a conversion is asked for

    return PintUcumRegistry()


def to_ucum(unit: str) -> str:
    """The UCUM code `unit` means: itself when it parses as UCUM, else its listed synonym."""
    from ucumvert import InvalidUcumError

    text = unit.strip()
    if not text:
        raise UnitError("unit-missing", "the result has no unit")
    for candidate in (text, SYNONYMS.get(text.lower())):
        if candidate is None:
            continue
        try:
            _registry().from_ucum(candidate)
        except (InvalidUcumError, ValueError, KeyError, AttributeError):
            continue
        return candidate
    raise UnitError("unit-not-ucum", "the unit is neither UCUM nor a listed synonym")


@functools.cache
def conversion(unit: str, target: str, molar_mass: float | None = None) -> Conversion:
    """How to convert values in `unit` (UCUM or a synonym) into the UCUM unit `target`.

    Raises `UnitError` with the flag to record: `unit-not-ucum`, `target-not-ucum`,
    `molar-mass-unknown` (mass ↔ moles without the analyte's molar mass), `units-incommensurable`.
    """
    import pint

    registry = _registry()
    source = registry.from_ucum(to_ucum(unit))
    try:
        goal = registry.from_ucum(target)
    except Exception:
        raise UnitError("target-not-ucum", "the LOINC term's unit is not UCUM") from None

    def convert(value: float) -> float:
        quantity = registry.Quantity(value * source.magnitude, source.units)
        try:
            return quantity.to(goal.units).magnitude / goal.magnitude
        except pint.DimensionalityError:
            pass
        molar = registry.Quantity(1, "g/mol").dimensionality
        crosses_moles = goal.dimensionality / quantity.dimensionality in (molar, 1 / molar)
        if not crosses_moles:
            raise UnitError("units-incommensurable", "the units measure different things") from None
        if not molar_mass:
            raise UnitError("molar-mass-unknown", "mass and moles convert only with the analyte's molar "
                            "mass (LOINCUnit.conversionFactor)") from None
        mass_per_mole = registry.Quantity(molar_mass, "g/mol")
        for candidate in (quantity * mass_per_mole, quantity / mass_per_mole):
            try:
                return candidate.to(goal.units).magnitude / goal.magnitude
            except pint.DimensionalityError:
                continue
        raise UnitError("units-incommensurable", "the units measure different things")

    at_zero = convert(0.0)
    factor = convert(1.0) - at_zero
    return Conversion(factor=_tidy(factor), offset=_tidy(at_zero))


def _tidy(number: float) -> float:
    """Round away binary noise (0.45359237000000004 → 0.45359237): 12 significant digits."""
    if number == 0 or not math.isfinite(number):
        return number
    return round(number, 11 - int(math.floor(math.log10(abs(number)))))
