"""Public ids: `<prefix>_` and 24 random base62 characters."""

import collections
import string

from config.ids import RANDOM_LENGTH, new_public_id

BASE62 = set(string.digits + string.ascii_letters)


def test_an_id_is_its_prefix_and_24_base62_characters():
    for _ in range(1000):
        prefix, _, rest = new_public_id("pay").partition("_")
        assert prefix == "pay"
        assert len(rest) == RANDOM_LENGTH and set(rest) <= BASE62


def test_every_character_is_about_equally_likely():
    counts = collections.Counter("".join(new_public_id("x")[2:] for _ in range(10_000)))

    assert set(counts) == BASE62
    expected = 10_000 * RANDOM_LENGTH / 62  # ≈ 3871 per character
    # 6 standard deviations (≈ 61 each): a biased mapping (e.g. bytes mod 62 over all 256
    # values: +25 % for 8 characters) shows, chance does not.
    assert all(abs(count - expected) < 6 * 61 for count in counts.values())
