"""SMART v2 scopes: parsing, narrowing to the registration, checking interactions."""

import pytest

from app.auth.scopes import (
    ScopeError,
    allows,
    grant,
    parse_requested,
    parse_scope,
    parse_scopes,
    render,
)


@pytest.mark.parametrize("text", ["system/Appointment.cu", "system/*.cruds", "user/Flag.rs"])
def test_valid_scopes_round_trip(text: str) -> None:
    assert str(parse_scope(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "system/Appointment.uc",
        "system/appointment.r",
        "patient/Patient.r",
        "system/Flag.",
        "Flag.r",
        "system/*.x",
        "system/Flag.rr",
    ],
)
def test_invalid_scopes_are_refused(text: str) -> None:
    with pytest.raises(ScopeError):
        parse_scope(text)


@pytest.mark.parametrize(
    ("requested", "registered", "granted"),
    [
        (
            "system/*.rs",
            "system/Appointment.cruds system/Patient.r",
            "system/Appointment.rs system/Patient.r",
        ),
        ("system/Appointment.cruds", "system/*.cu", "system/Appointment.cu"),
        ("system/Flag.rs", "system/Appointment.cu", ""),
        ("user/*.rs", "system/*.cruds", ""),
        ("system/Appointment.u system/Appointment.c", "system/*.cruds", "system/Appointment.cu"),
    ],
)
def test_grant_is_never_wider_than_the_registration(
    requested: str, registered: str, granted: str
) -> None:
    assert render(grant(parse_scopes(requested), parse_scopes(registered))) == granted


@pytest.mark.parametrize(
    ("v1", "v2"),
    [
        ("system/Flag.read", "system/Flag.rs"),
        ("system/*.read", "system/*.rs"),
        ("system/Appointment.write", "system/Appointment.cud"),
        ("user/*.*", "user/*.cruds"),
    ],
)
def test_smart_v1_scopes_read_as_v2(v1: str, v2: str) -> None:
    assert str(parse_scope(v1)) == v2


def test_a_request_keeps_its_resource_scopes_and_sets_the_rest_aside() -> None:
    scopes, other = parse_requested(
        "launch/patient system/Flag.read openid patient/*.read system/Obs.rs?category=x"
    )
    assert render(scopes) == "system/Flag.rs"
    assert other == ["launch/patient", "openid", "patient/*.read", "system/Obs.rs?category=x"]


def test_interactions_map_to_letters() -> None:
    scopes = parse_scopes("system/Appointment.cu system/Patient.rs")
    assert allows(scopes, "Appointment", "create")
    assert allows(scopes, "Appointment", "update")
    assert not allows(scopes, "Appointment", "read")
    assert allows(scopes, "Patient", "vread") and allows(scopes, "Patient", "search")
    assert not allows(scopes, "Patient", "create")
