"""UCUM conversions against known values: one per (unit, target), never a guess."""

import pytest

from hv_pipelines.core.standardize.units import UnitError, conversion, to_ucum


@pytest.mark.parametrize(("unit", "target", "value", "expected"), [
    ("[lb_av]", "kg", 1, 0.45359237),
    ("lbs", "kg", 150, 68.0388555),
    ("[in_i]", "cm", 1, 2.54),
    ("[degF]", "Cel", 98.6, 37.0),
    ("degF", "Cel", 212, 100.0),
    ("g/L", "g/dL", 140, 14.0),
    ("mg/dL", "mg/dL", 100, 100.0),
    ("mg/dl", "mg/dL", 100, 100.0),
    ("10*9/L", "10*3/uL", 7.2, 7.2),
    ("mmHg", "mm[Hg]", 120, 120.0),
])
def test_known_conversions(unit, target, value, expected):
    assert conversion(unit, target).apply(value) == pytest.approx(expected, rel=1e-9)


def test_moles_and_mass_convert_only_with_the_molar_mass():
    glucose = 180.156
    assert conversion("mmol/L", "mg/dL", glucose).apply(5.5) == pytest.approx(99.0858, rel=1e-9)
    assert conversion("mg/dL", "mmol/L", glucose).apply(99.0858) == pytest.approx(5.5, rel=1e-9)
    with pytest.raises(UnitError) as refused:
        conversion("mmol/L", "mg/dL")
    assert refused.value.flag == "molar-mass-unknown"


@pytest.mark.parametrize(("unit", "target", "flag"), [
    ("furlongs", "kg", "unit-not-ucum"),
    ("", "kg", "unit-missing"),
    ("kg", "cm", "units-incommensurable"),
    ("mg/dL", "not a unit", "target-not-ucum"),
])
def test_an_unconvertible_unit_is_refused_with_a_reason(unit, target, flag):
    with pytest.raises(UnitError) as refused:
        conversion(unit, target)
    assert refused.value.flag == flag


def test_ucum_is_taken_as_sent_and_synonyms_only_from_the_list():
    assert to_ucum("mg/dL") == "mg/dL"
    assert to_ucum("lbs") == "[lb_av]"
    with pytest.raises(UnitError):
        to_ucum("lbz")
