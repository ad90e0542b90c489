"""A document edihub signs for a destination must still validate against that destination's schema: every
outbound message type keeps a place for the enveloped ds:Signature."""
from pathlib import Path

import pytest

import signing
from translator import parse, validate
from translator.registry import default_registry

ROOT = Path(__file__).resolve().parent.parent
OUTBOUND = {"prc:DecMessage", "vnaccs:IDA", "vnaccs:EDA", "siveca:Registration", "siveca:CIDNotification",
            "iran:OrderRegistration"}


def _samples():
    reg = default_registry()
    for p in sorted((ROOT / "samples").glob("*/*.xml")):
        mt = reg.detect(parse(p.read_bytes()).getroot())
        if mt is not None and mt.id in OUTBOUND:
            yield pytest.param(p, id=str(p.relative_to(ROOT)))


def test_every_outbound_type_has_a_sample():
    reg = default_registry()
    found = {reg.detect(parse(p.values[0].read_bytes()).getroot()).id for p in _samples()}
    assert found == OUTBOUND


@pytest.mark.parametrize("path", list(_samples()))
def test_signed_sample_still_validates(path, pki):
    signer = signing.LocalSigner.from_files(pki / "hub.key", pki / "hub.pem")
    signed = signing.sign(parse(path.read_bytes()), signing.load_profile("default"), signer).data
    assert b"SignatureValue" in signed
    report = validate(signed)
    assert report.valid, [i.to_dict() for i in report.errors]
