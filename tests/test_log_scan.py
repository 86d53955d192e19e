"""The scanner that guards the suite's logs must catch what it is meant to catch."""

from tests.log_scan import personal_data


def test_scanner_catches_nhs_numbers_names_dates_and_bodies() -> None:
    lines = [
        "wnb.access: GET /fhir/Patient 200 3.1ms",
        "wnb.x: patient 9434765919 missed",
        "wnb.x: born 2019-02-03",
        "wnb.x: Jones family",
        'wnb.x: body {"resourceType": "Patient"}',
        "wnb.x: request id 1234567890",  # ten digits that fail Modulus 11 are not NHS numbers
    ]
    assert personal_data(lines) == lines[1:5]


def test_ten_digits_inside_an_identifier_are_not_an_nhs_number() -> None:
    # fam-...: a family's uuid whose digits 0049359762 pass the NHS check digit
    family = "wnb.families: family fam-0a2542ec1d0049359762d3f42559e831 has 4 patients"
    assert personal_data([family]) == []
    assert personal_data(["wnb.x: Patient/9434765919", "wnb.x: nhs=9434765919"]) == [
        "wnb.x: Patient/9434765919",
        "wnb.x: nhs=9434765919",
    ]
