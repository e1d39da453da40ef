from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from inventory import geocoding
from inventory.models import Location


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("gb", "  sw1a   1aa ", "SW1A 1AA"),
        ("UK", "M11AE", "M1 1AE"),
        ("US", "10001", "10001"),
        ("US", "100011234", "10001-1234"),
        ("US", "10001 1234", "10001-1234"),
        ("DE", " 10115 ", "10115"),
        ("GB", "", ""),
    ],
)
def test_normalize_postal_code(country, typed, stored):
    assert geocoding.normalize_postal_code(country, typed) == stored


@pytest.mark.parametrize(
    ("country", "typed"), [("GB", "SW1A"), ("GB", "12345"), ("US", "1234")]
)
def test_normalize_rejects_invalid_code(country, typed):
    with pytest.raises(geocoding.InvalidPostalCode):
        geocoding.normalize_postal_code(country, typed)


def test_geocode_uk_postcode():
    found = geocoding.geocode("GB", "SW1A 1AA")

    assert found.source == "postcode"
    assert Decimal("51.49") < found.latitude < Decimal("51.51")
    assert Decimal("-0.15") < found.longitude < Decimal("-0.13")


def test_geocode_unknown_uk_postcode_uses_district():
    found = geocoding.geocode("GB", "SW1A 9ZZ")

    assert found.source == "district"
    assert Decimal("51.4") < found.latitude < Decimal("51.6")


def test_geocode_us_zip_plus_four():
    found = geocoding.geocode("US", "10001-1234")

    assert found.source == "postcode"
    assert found.latitude == Decimal("40.748400")


def test_geocode_falls_back_to_city():
    found = geocoding.geocode("GB", "BT1 1AA", "Belfast")

    assert found.source == "city"
    assert Decimal("54.5") < found.latitude < Decimal("54.7")


def test_geocode_unknown_returns_none():
    assert geocoding.geocode("US", "00000", "Nowhere Town") is None


def test_distance_london_manchester():
    distance = geocoding.distance_km(51.5074, -0.1278, 53.4808, -2.2426)

    assert 255 < distance < 265


@pytest.mark.django_db
def test_location_saves_normalized_code_and_coordinates():
    location = Location.objects.create(
        name="London", code="london", country_code="gb", postal_code="sw1a1aa"
    )

    location.refresh_from_db()
    assert location.country_code == "GB"
    assert location.postal_code == "SW1A 1AA"
    assert location.coordinates_source == Location.CoordinatesSource.POSTCODE
    assert location.latitude is not None


@pytest.mark.django_db
def test_location_falls_back_to_typed_coordinates():
    location = Location.objects.create(
        name="Somewhere",
        code="somewhere",
        country_code="FR",
        manual_latitude=Decimal("48.1"),
        manual_longitude=Decimal("2.2"),
    )

    assert location.coordinates_source == Location.CoordinatesSource.MANUAL
    assert location.latitude == Decimal("48.1")


@pytest.mark.django_db
def test_location_without_address_has_no_coordinates():
    location = Location.objects.create(name="Bare", code="bare", country_code="FR")

    assert location.coordinates_source == Location.CoordinatesSource.NONE
    assert location.latitude is None


@pytest.mark.django_db
def test_location_clean_rejects_invalid_postcode():
    location = Location(name="Bad", code="bad", country_code="GB", postal_code="XYZ")

    with pytest.raises(ValidationError) as caught:
        location.full_clean()

    assert "is not a valid UK postcode" in str(caught.value.message_dict["postal_code"])


@pytest.mark.django_db
def test_location_clean_needs_both_typed_coordinates():
    location = Location(
        name="Half", code="half", country_code="FR", manual_latitude=Decimal("1")
    )

    with pytest.raises(ValidationError) as caught:
        location.full_clean()

    assert "both a latitude and a longitude" in str(caught.value)
