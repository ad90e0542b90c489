import datetime as dt
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ROOT / ".hypothesis"))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A development PKI (signing.devpki) for the whole test session: CA, hub, partners, expired, untrusted."""
    from signing.devpki import init_dev_pki
    d = tmp_path_factory.mktemp("pki")
    init_dev_pki(d, dt.datetime.now(dt.timezone.utc))
    return d


@pytest.fixture(scope="session")
def endpoints(pki):
    """The simulated national endpoints on a free loopback port, trusting the session PKI's hub certificate.
    Suites reset their modes and counters before each test (their `sim` fixtures)."""
    from samples.endpoints import start_in_thread
    base, stop = start_in_thread(port=0, hub_cert=str(pki / "hub.pem"))
    yield base
    stop()
