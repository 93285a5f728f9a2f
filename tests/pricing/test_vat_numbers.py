"""EU VAT numbers: normalised and format-checked offline with python-stdnum."""

from pricing.vat_numbers import vat_number_check


def test_a_valid_number_is_normalised_with_its_country_prefix():
    assert vat_number_check(number="fr 40 303 265 045", country="FR").number == "FR40303265045"
    check = vat_number_check(number="136695976", country="DE")
    assert check.valid and check.number == "DE136695976"
    assert vat_number_check(number="094259216", country="GR").number == "EL094259216"


def test_a_wrong_check_digit_is_refused_with_a_clear_message():
    check = vat_number_check(number="DE136695975", country="DE")
    assert not check.valid and "not a valid EU VAT number" in check.error


def test_a_number_from_another_country_than_the_billing_country_is_refused():
    check = vat_number_check(number="DE136695976", country="FR")
    assert not check.valid and "should start with FR" in check.error
