import datetime as dt

import pytest

from harness.network.login import (
    LoginError,
    build_login,
    fixed_ip_availability,
    fixed_ip_cancellation_date,
    fixed_ip_monthly_price,
    international_msisdn,
    parse_login,
)
from harness.network.operators import PlanTraits, load_all


@pytest.fixture(scope="module")
def ops():
    db = load_all()
    return db["orange-france"], db["bouygues-telecom"]


def test_orange_partner_login_15_digits(ops):
    orange, _ = ops
    login = build_login(orange, "partner", "07000080910112", partner="partenaire", password="x")
    assert login.username == "337000080910112@partenaire.otd"
    assert login.apn == "telcomobile.com" and login.auth == ("pap",) and login.lptype is None
    assert build_login(orange, "partner", "+33 7 00 00 80 91 01 12", partner="partenaire", visp=3).username \
        == "337000080910112@partenaire3.otd"


def test_bouygues_partner_login_11_digits_lptype_4(ops):
    _, bytel = ops
    login = build_login(bytel, "partner", "0712345678", partner="partenaire", visp=2)
    assert login.username == "33712345678@partenaire2.btd"
    assert login.lptype == 4 and login.apn == "mmsbouygtel.com" and login.auth == ("pap",)


def test_orange_fixed_ip_login(ops):
    orange, _ = ops
    login = build_login(orange, "fixed_ip", "07000009279756")
    assert login.username == "337000009279756@alpha.otd" and login.apn == "telcomobile.com"


@pytest.mark.parametrize("number, digits, text", [
    ("0712345678", 15, "15-digit"),          # a 10-digit number cannot make the Orange 15-digit form
    ("07000080910112", 11, "11-digit"),      # a 14-digit number cannot make the Bouygues 11-digit form
    ("0112345678", None, "not a mobile"),
    ("071234567", None, "10 digits"),
    ("+32471234567", None, "country code 33"),
    ("07a2345678", None, "only digits"),
    ("06000080910112", None, "07 data-only"),
])
def test_numbers_refused_with_reason(number, digits, text):
    with pytest.raises(LoginError, match=text):
        international_msisdn(number, digits)


def test_national_conversions():
    assert international_msisdn("06 12 34 56 78") == "33612345678"
    assert international_msisdn("0033712345678", 11) == "33712345678"
    assert international_msisdn("07000009279756", 15) == "337000009279756"


def test_parse_login(ops):
    orange, bytel = ops
    p = parse_login(orange, "337000080910112@partenaire2.otd")
    assert (p.kind, p.partner, p.visp, p.msisdn) == ("partner", "partenaire", 2, "337000080910112")
    assert parse_login(orange, "337000009279756@alpha.otd").kind == "fixed_ip"
    with pytest.raises(LoginError, match="15 digits, not 11"):
        parse_login(orange, "33712345678@partenaire.otd")
    with pytest.raises(LoginError, match="international form"):
        parse_login(bytel, "0712345678@partenaire.btd")
    with pytest.raises(LoginError, match="unknown domain"):
        parse_login(bytel, "33712345678@partenaire.otd")
    with pytest.raises(LoginError, match="not a known partner"):
        parse_login(bytel, "33712345678@other.btd", partners=("partenaire",))


def test_fixed_ip_availability_per_provider(ops):
    orange, bytel = ops
    blocked, unblocked = PlanTraits("data_only", blocked=True), PlanTraits("data_only", blocked=False)
    metered = PlanTraits("metered", blocked=False)
    assert fixed_ip_availability(orange, blocked).allowed
    assert fixed_ip_availability(orange, metered).allowed
    refused = fixed_ip_availability(orange, unblocked)
    assert not refused.allowed and "blocked" in refused.reason and "unblocked data_only" in refused.reason
    assert fixed_ip_availability(bytel, unblocked).allowed and fixed_ip_availability(bytel, blocked).allowed
    assert fixed_ip_availability(bytel, metered).allowed
    assert not fixed_ip_availability(bytel, PlanTraits("voice_only", data=False)).allowed


def test_prices_and_cancellation(ops):
    orange, bytel = ops
    assert fixed_ip_monthly_price(orange, "internet_only") == 5
    assert fixed_ip_monthly_price(bytel, "internet_only") == 2
    assert fixed_ip_monthly_price(orange, "partner_l2tp") == 0
    assert fixed_ip_cancellation_date(orange, dt.date(2024, 3, 8)) == dt.date(2024, 4, 1)
    assert fixed_ip_cancellation_date(orange, dt.date(2024, 12, 1)) == dt.date(2025, 1, 1)
    assert fixed_ip_cancellation_date(bytel, dt.date(2024, 3, 8)) == dt.date(2024, 3, 8)
