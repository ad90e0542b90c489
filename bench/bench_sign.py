"""Signing cost per document for a 20-line PRC declaration (samples/prc/export_20_lines.xml, or a generated
document of the same shape when it is missing) against the floor: exclusive C14N of the document + a raw
RSA-2048 PKCS#1 v1.5 SHA-256 signature with cryptography. edihub's default profile adds the digest, building the
ds:Signature, C14N of SignedInfo and serialising the signed document. Goal for sign: ratio <= 2.
Verification (parse with the hardened parser, digest, signature, chain to the trust store) is reported against
the same floor; signxml's sign of the same tree is printed for comparison (not a goal)."""
from __future__ import annotations

import copy
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from lxml import etree  # noqa: E402

from bench._common import line  # noqa: E402
from signing import LocalSigner, TrustStore, VerifyPolicy, sign, verify  # noqa: E402
from signing.devpki import init_dev_pki  # noqa: E402
from translator import parse  # noqa: E402

SAMPLE = ROOT / "samples" / "prc" / "export_20_lines.xml"


def document() -> bytes:
    if SAMPLE.exists():
        return SAMPLE.read_bytes()
    item = ("<DecList><GNo>{i}</GNo><CodeTS>8471300000</CodeTS><GName>便携式电脑</GName><GModel>1|0|14英寸</GModel>"
            "<GQty>{i}00</GQty><GUnit>001</GUnit><DeclPrice>356.0000</DeclPrice><DeclTotal>{i}5600.00</DeclTotal>"
            "<TradeCurr>USD</TradeCurr><OriginCountry>DEU</OriginCountry><DutyMode>1</DutyMode></DecList>\n")
    lines = "".join(item.format(i=i) for i in range(1, 21))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<DecMessage xmlns="http://www.chinaport.gov.cn/dec">'
            f"<DecHead><IEFlag>E</IEFlag><TradeName>上海新宇电器制造有限公司</TradeName></DecHead>\n<DecLists>"
            f"{lines}</DecLists><DecSign><OperType>C</OperType><Sign/></DecSign></DecMessage>").encode()


def timed(fns: dict, make_arg: dict, repeat: int = 15, number: int = 60) -> dict[str, float]:
    """Interleaved rounds; each call gets a fresh argument made outside the timed region. Medians per call."""
    rounds: dict[str, list[float]] = {k: [] for k in fns}
    for k, fn in fns.items():
        fn(make_arg[k]())
    for _ in range(repeat):
        for k, fn in fns.items():
            args = [make_arg[k]() for _ in range(number)]
            t = time.perf_counter()
            for a in args:
                fn(a)
            rounds[k].append((time.perf_counter() - t) / number)
    return {k: statistics.median(v) for k, v in rounds.items()}


def main() -> int:
    data = document()
    now = dt.datetime.now(dt.timezone.utc)
    with tempfile.TemporaryDirectory() as d:
        init_dev_pki(d, now)
        signer = LocalSigner.from_files(Path(d) / "hub.key", Path(d) / "hub.pem")
        trust = TrustStore.from_dir(Path(d) / "trust")
    policy = VerifyPolicy(now=now, trust=trust)
    base = parse(data)
    signed = sign(copy.deepcopy(base), "default", signer).data
    assert verify(signed, policy).valid

    def floor(tree):
        c = etree.tostring(tree, method="c14n", exclusive=True, with_comments=False)
        signer.key.sign(c, padding.PKCS1v15(), hashes.SHA256())

    def edihub_sign(tree):
        sign(tree, "default", signer)

    def edihub_verify(blob):
        verify(blob, policy)

    from signxml import XMLSigner
    sx = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    from cryptography.hazmat.primitives import serialization
    cert_pem = signer.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def signxml_sign(tree):
        etree.tostring(sx.sign(tree.getroot(), key=signer.key, cert=cert_pem))

    fresh = lambda: copy.deepcopy(base)  # noqa: E731
    t = timed({"floor": floor, "sign": edihub_sign, "verify": edihub_verify, "signxml": signxml_sign},
              {"floor": fresh, "sign": fresh, "verify": lambda: signed, "signxml": fresh})
    n = 15 * 60
    print(f"# {SAMPLE.name if SAMPLE.exists() else 'generated declaration'}: {len(data)} bytes, "
          f"{data.count(b'<DecList>')} goods lines; floor {t['floor'] * 1e6:.0f} us, edihub sign "
          f"{t['sign'] * 1e6:.0f} us, verify {t['verify'] * 1e6:.0f} us, signxml sign {t['signxml'] * 1e6:.0f} us")
    print(line("sign_default_prc_20_lines", t["sign"] * 1e6, "us/doc", t["floor"] * 1e6,
               "exc_c14n+raw_rsa2048_sign", n))
    print(line("verify_default_prc_20_lines", t["verify"] * 1e6, "us/doc", t["floor"] * 1e6,
               "exc_c14n+raw_rsa2048_sign", n))
    print(line("signxml_sign_prc_20_lines", t["signxml"] * 1e6, "us/doc", t["floor"] * 1e6,
               "exc_c14n+raw_rsa2048_sign", n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
