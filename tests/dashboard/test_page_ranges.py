"""The time ranges a page offers: `?range=` takes one of them, anything else is refused."""

import pytest

from dashboard import pages


@pytest.mark.parametrize("raw, key", [(None, "1h"), ("", "1h"), ("5m", "5m"), ("7d", "7d")])
def test_it_accepts_the_offered_ranges(raw, key) -> None:
    assert pages.parse_range(raw)[0] == key


@pytest.mark.parametrize("raw", ["2h", "1H", "-1h", "1h "])
def test_it_refuses_other_ranges(raw) -> None:
    with pytest.raises(pages.BadRange):
        pages.parse_range(raw)
