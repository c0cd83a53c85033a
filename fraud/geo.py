"""Where a payment comes from, for the geographic rule. In order of precision: the location
the merchant sends (`client_location`), the customer's IP in a GeoIP database (MaxMind format,
`GEOIP_DATABASE`, optional), the centre of the billing country."""

import functools
import logging

import maxminddb
from countryinfo import CountryInfo
from django.conf import settings

logger = logging.getLogger(__name__)


@functools.cache
def _geoip_reader(path: str) -> maxminddb.Reader:
    return maxminddb.open_database(path)


def geoip_location(ip_address: str) -> tuple[float, float] | None:
    if not settings.GEOIP_DATABASE:
        return None
    try:
        record = _geoip_reader(settings.GEOIP_DATABASE).get(ip_address)
    except (OSError, ValueError):
        logger.warning("GeoIP lookup failed", exc_info=True)
        return None
    location = (record or {}).get("location") or {}
    if "latitude" not in location or "longitude" not in location:
        return None
    return float(location["latitude"]), float(location["longitude"])


@functools.cache
def country_centre(country: str) -> tuple[float, float] | None:
    try:
        latitude, longitude = CountryInfo(country).latlng()
    except (KeyError, ValueError, TypeError):
        return None
    return float(latitude), float(longitude)


def locate(
    *, location: tuple[float, float] | None, ip_address: str | None, billing_country: str
) -> tuple[float, float] | None:
    if location is not None:
        return location
    found = geoip_location(ip_address) if ip_address else None
    if found is None and billing_country:
        found = country_centre(billing_country.upper())
    return found
