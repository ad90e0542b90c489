"""`edihub messages --since T` understands durations, ISO dates and epoch seconds, and refuses anything else."""
import argparse
import datetime as dt

import pytest

from cli.client import since_epoch

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize("text,expected", [
    ("30m", NOW - 1800), ("2h", NOW - 7200), ("1d", NOW - 86400), ("45s", NOW - 45), ("1.5h", NOW - 5400),
    ("2026-11-23", dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc).timestamp()),
    ("2026-11-23T10:00:00+07:00", dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.timezone.utc).timestamp()),
    ("1763888400", 1763888400.0),
])
def test_since_forms(text, expected):
    assert since_epoch(text, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["yesterday", "2h ago", "", "23/11/2026"])
def test_since_refuses_other_text(text):
    with pytest.raises(argparse.ArgumentTypeError):
        since_epoch(text, now=NOW)
