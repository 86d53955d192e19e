import pytest

from app.fhir.nhs_number import check_digit, is_valid


@pytest.mark.parametrize(
    "value", ["9434765919", "9434765870", "9449306060", "9449305552", "9000000009"]
)
def test_known_valid_numbers_pass(value: str) -> None:
    assert is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "9434765918",  # wrong check digit
        "943476591",  # nine digits
        "94347659199",  # eleven digits
        "943476591a",
        "",
        # full-width digits: digits to Python, not to the NHS
        "\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19",
    ],
)
def test_invalid_numbers_fail(value: str) -> None:
    assert not is_valid(value)


def test_remainder_ten_has_no_check_digit() -> None:
    # 10*1 + 9*0 + ... finds a prefix whose remainder is 1, so check = 10: never valid.
    prefixes = [f"{n:09d}" for n in range(1000, 1200)]
    tens = [p for p in prefixes if check_digit(p) is None]
    assert tens, "some prefix must give a check of 10"
    assert not any(is_valid(p + str(d)) for p in tens for d in range(10))


def test_check_eleven_means_zero() -> None:
    prefix = next(
        f"{n:09d}"
        for n in range(10**6)
        if sum(int(d) * w for d, w in zip(f"{n:09d}", range(10, 1, -1), strict=True)) % 11 == 0
    )
    assert check_digit(prefix) == 0
    assert is_valid(prefix + "0")
