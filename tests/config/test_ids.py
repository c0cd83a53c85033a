"""Public ids: `<prefix>_`, 9 characters of time (base 36) and 15 random base62 ones; and
version-7 UUIDs."""

import collections
import string
import uuid

from config.ids import RANDOM_LENGTH, TIME_LENGTH, new_public_id, time_ordered_uuid

BASE36 = set(string.digits + string.ascii_lowercase)
BASE62 = set(string.digits + string.ascii_letters)


def test_an_id_is_its_prefix_the_time_and_random_characters():
    for _ in range(1000):
        prefix, _, rest = new_public_id("pay").partition("_")
        assert prefix == "pay"
        assert len(rest) == TIME_LENGTH + RANDOM_LENGTH == 24
        assert set(rest[:TIME_LENGTH]) <= BASE36 and set(rest[TIME_LENGTH:]) <= BASE62


def test_ids_sort_in_the_order_they_were_minted(monkeypatch):
    clock = iter([1_700_000_000_000_000_000 + step * 1_000_000 for step in range(100)])
    monkeypatch.setattr("config.ids.time.time_ns", lambda: next(clock))

    minted = [new_public_id("pay") for _ in range(100)]

    assert minted == sorted(minted)
    assert len(set(minted)) == 100


def test_every_random_character_is_about_equally_likely():
    draws = 10_000
    counts = collections.Counter(
        "".join(new_public_id("x")[2 + TIME_LENGTH :] for _ in range(draws))
    )

    assert set(counts) == BASE62
    expected = draws * RANDOM_LENGTH / 62  # ≈ 2419 per character, standard deviation ≈ 49
    # A biased mapping (e.g. bytes mod 62 over all 256 values: +25 % for 8 characters) shows
    # at 6 standard deviations, chance does not.
    assert all(abs(count - expected) < 6 * 49 for count in counts.values())


def test_the_time_part_is_the_milliseconds_in_base_36(monkeypatch):
    for milliseconds in (0, 35, 36, 1295, 1296, 1_700_000_000_123, 1_764_000_000_000, 36**9 - 1):
        monkeypatch.setattr("config.ids.time.time_ns", lambda ms=milliseconds: ms * 1_000_000)

        time_part = new_public_id("x")[2 : 2 + TIME_LENGTH]

        assert int(time_part, 36) == milliseconds


def test_a_time_ordered_uuid_is_version_7_with_the_milliseconds_first(monkeypatch):
    milliseconds = 1_764_000_000_123
    monkeypatch.setattr("config.ids.time.time_ns", lambda: milliseconds * 1_000_000 + 999)

    minted = time_ordered_uuid()

    assert minted.version == 7 and minted.variant == uuid.RFC_4122
    assert int.from_bytes(minted.bytes[:6]) == milliseconds
    # Round-trips through its text form, as PostgreSQL's uuid type stores it.
    assert uuid.UUID(str(minted)) == minted


def test_time_ordered_uuids_sort_bytewise_in_the_order_they_were_minted(monkeypatch):
    clock = iter([1_700_000_000_000_000_000 + step * 1_000_000 for step in range(200)])
    monkeypatch.setattr("config.ids.time.time_ns", lambda: next(clock))

    minted = [time_ordered_uuid() for _ in range(200)]

    assert [u.bytes for u in minted] == sorted(u.bytes for u in minted)
    assert len({u.bytes[6:] for u in minted}) == 200  # the random part differs


def test_the_random_bits_of_time_ordered_uuids_are_not_fixed():
    minted = [time_ordered_uuid().int for _ in range(2000)]
    random_bits = (1 << 62) - 1 | 0xFFF << 64
    ones = 0
    for value in minted:
        ones |= value & random_bits
    assert ones == random_bits  # every random bit was set at least once
