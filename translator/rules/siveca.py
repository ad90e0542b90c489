"""Business rules of the SIVECA / SOFIA family (spec/siveca_iran.md A.13), plus the public pure check functions
the other parts reuse: `container_check_digit` (ISO 6346), `ruc_check_digit` (Paraguay RUC, SET modulo 11) and
`uscc_check_char` (PRC unified social credit code, GB 32100-2015).

Each rule is cheap: precompiled XPaths, one pass, no I/O. Messages name the field with its Spanish/Chinese label.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from lxml import etree

from . import Finding, rule

SIV = "urn:hub:py:siveca:1"
WS = "http://aduana.gov.py/webservices"
NS = {"siv": SIV, "ws": WS}

REGISTRATION = "siveca:Registration"
NOTIFICATION = "siveca:CIDNotification"
CHECK_REQUEST = "siveca:CIDCheckRequest"
CHECK_RESPONSE = "siveca:CIDCheckResponse"

# --------------------------------------------------------------------------------------------------------------
# check-digit functions (public, pure)
# --------------------------------------------------------------------------------------------------------------

def _iso6346_letter_values() -> dict[str, int]:
    # A=10 upwards, skipping multiples of 11 (11, 22, 33): ISO 6346 Annex A
    values, v = {}, 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if v % 11 == 0:
            v += 1
        values[letter] = v
        v += 1
    return values


_ISO6346 = _iso6346_letter_values()
_ISO6346.update({str(d): d for d in range(10)})
_OWNER_SERIAL = re.compile(r"[A-Z]{3}[UJZ][0-9]{6}")


def container_check_digit(owner_serial10: str) -> int:
    """ISO 6346 check digit of the first 10 characters of a container number (owner code, category letter U/J/Z,
    6-digit serial): sum of value x 2**position, modulo 11, and a remainder of 10 counts as 0.

    >>> container_check_digit("CSQU305438")
    3
    """
    s = owner_serial10.strip().upper()
    if not _OWNER_SERIAL.fullmatch(s):
        raise ValueError(f"{owner_serial10!r} is not 3 letters, U/J/Z and 6 digits")
    total = sum(_ISO6346[c] << i for i, c in enumerate(s))
    return total % 11 % 10


def container_number_ok(number: str) -> bool:
    s = number.strip().upper()
    return (len(s) == 11 and _OWNER_SERIAL.fullmatch(s[:10]) is not None and s[10].isdigit()
            and container_check_digit(s[:10]) == int(s[10]))


def ruc_check_digit(base: str, basemax: int = 11) -> int:
    """Check digit of a Paraguayan RUC (the SET's published modulo-11 routine): weights 2, 3, ... basemax from the
    rightmost digit, restarting at 2; remainder r of the sum by 11 gives 11 - r, or 0 when r is 0 or 1.

    >>> ruc_check_digit("80069563")
    1
    """
    if not base.isdigit():
        raise ValueError(f"{base!r}: a RUC base is digits only")
    total, k = 0, 2
    for ch in reversed(base):
        if k > basemax:
            k = 2
        total += int(ch) * k
        k += 1
    r = total % 11
    return 11 - r if r > 1 else 0


def ruc_ok(ruc: str) -> bool:
    base, _, dv = ruc.strip().partition("-")
    return base.isdigit() and dv.isdigit() and len(dv) == 1 and ruc_check_digit(base) == int(dv)


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"          # GB 32100-2015: no I, O, S, V, Z
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]       # 1, 3, 9, 27, 19, 26, ...
_USCC = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}")


def uscc_check_char(first17: str) -> str:
    """18th character of a PRC unified social credit code (统一社会信用代码, GB 32100-2015)."""
    s = first17.strip().upper()
    if len(s) != 17 or any(c not in _USCC_CHARS for c in s):
        raise ValueError(f"{first17!r} is not 17 characters of the USCC alphabet")
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(s, _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_ok(code: str) -> bool:
    s = code.strip().upper()
    return _USCC.fullmatch(s) is not None and uscc_check_char(s[:17]) == s[17]


# --------------------------------------------------------------------------------------------------------------
# precompiled paths
# --------------------------------------------------------------------------------------------------------------

def _x(path: str) -> etree.XPath:
    return etree.XPath(path, namespaces=NS)


R_CONTAINERS = _x("siv:ExportDocument/siv:Containers/siv:Container")
R_CONTAINER_NOS = _x("siv:ExportDocument/siv:Containers/siv:Container/siv:ContainerNo")
R_DEST = _x("siv:ExportDocument/siv:CountryOfDestination")
R_CERT = _x("siv:Header/siv:CertificationStatus")
R_CREATED = _x("siv:Header/siv:CreatedAt")
R_EXPORT_DATE = _x("siv:ExportDocument/siv:ExportDate")
R_ARRIVAL = _x("siv:ExportDocument/siv:Logistics/siv:EstimatedArrival")
R_PLACE_ARRIVAL = _x("siv:ExportDocument/siv:Logistics/siv:PlaceOfArrival")
R_GOODS = _x("siv:GoodsItem")
R_HS = _x("siv:ExportDocument/siv:Containers/siv:Container/siv:GoodsItem/siv:HsCode")
R_EXPORTER_ID = _x("siv:ExportDocument/siv:Exporter/siv:Identifier")
R_IMPORTER_ID = _x("siv:ExportDocument/siv:Importer/siv:Identifier")
R_IMPORTER = _x("siv:ExportDocument/siv:Importer")

N_CONTAINER_NOS = _x("siv:ContainerCid/siv:ContainerNo")
N_CIDS = _x("siv:ContainerCid/siv:Cid")
N_ISSUED = _x("siv:ContainerCid/siv:IssuedAt")
N_CREATED = _x("siv:Header/siv:CreatedAt")
N_EXPORTER_ID = _x("siv:ExporterId")
N_IMPORTER_ID = _x("siv:ImporterId")

Q_CONTAINER = _x("ws:contenedor")
Q_CID = _x("ws:cid")
Q_RUC = _x("ws:rucImportador")
A_FOUND = _x("ws:return/ws:encontrado")
A_DATA = _x("ws:return/ws:cidDatos")
A_CONTAINER = _x("ws:return/ws:cidDatos/ws:contenedor")
A_CID = _x("ws:return/ws:cidDatos/ws:cid")
A_RUC = _x("ws:return/ws:cidDatos/ws:rucImportador")
A_RETORNO = _x("ws:return/ws:errores/ws:retorno")

MAX_CONTAINER_CARGO_KG = Decimal("36000")   # largest ISO 668 rating (1AAA/1EEE etc.), a plausibility ceiling
_CID_OK = re.compile(r"[\x21-\x7e]{4,64}")  # visible ASCII, no spaces; the real format is not published


def _text(el) -> str:
    return (el.text or "").strip() if el is not None else ""


def _dec(el) -> Decimal | None:
    try:
        return Decimal(_text(el))
    except InvalidOperation:
        return None


def _first(xp: etree.XPath, root):
    found = xp(root)
    return found[0] if found else None


# --------------------------------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------------------------------

@rule(REGISTRATION, code="siveca-one-container",
      doc="a SIVECA registration covers exactly one container ([S1 l.32] 登记将以每个集装箱为单位)")
def one_container(root, ctx):
    containers = R_CONTAINERS(root)
    if len(containers) > 1:
        numbers = ", ".join(_text(c.find("siv:ContainerNo", NS)) for c in containers)
        yield Finding(containers[1], f"集装箱 / Contenedor: SIVECA registers one container per registration; this "
                                     f"document has {len(containers)} ({numbers}): split it into "
                                     f"{len(containers)} registrations")


def _check_containers(elements):
    for el in elements:
        number = _text(el)
        if len(number) == 11 and _OWNER_SERIAL.fullmatch(number[:10]) and number[10].isdigit():
            want = container_check_digit(number[:10])
            if want != int(number[10]):
                yield Finding(el, f"集装箱号 / Número de contenedor {number}: the ISO 6346 check digit should be "
                                  f"{want}, not {number[10]} (typing error in the container number?)")


@rule(REGISTRATION, code="siveca-container-check-digit", doc="container numbers carry a valid ISO 6346 check digit")
def registration_container_digits(root, ctx):
    yield from _check_containers(R_CONTAINER_NOS(root))


@rule(REGISTRATION, code="siveca-destination-not-py", doc="SIVECA covers exports to Paraguay only ([S1 l.28])")
def destination_py(root, ctx):
    el = _first(R_DEST, root)
    if el is not None and _text(el) != "PY":
        yield Finding(el, f"目的国 / País de destino is {_text(el)!r}: SIVECA registers only goods exported to "
                          f"Paraguay (PY)")


@rule(REGISTRATION, code="siveca-exporter-not-certified",
      doc="only certified enterprises may declare ([S1 l.65-66])")
def exporter_certified(root, ctx):
    el = _first(R_CERT, root)
    if el is not None and _text(el) != "CERTIFIED":
        yield Finding(el, "企业真实性核验认证: the exporter's SIVECA account is not certified; only certified "
                          "enterprises may register exports (complete the enterprise authenticity verification first)")


@rule(REGISTRATION, code="siveca-export-after-registration",
      doc="the export date is not after the registration ([S1 l.49]: register after the goods are exported)")
def export_not_after_registration(root, ctx):
    exp, created = _first(R_EXPORT_DATE, root), _first(R_CREATED, root)
    if exp is not None and created is not None and _text(exp) > _text(created)[:10]:
        yield Finding(exp, f"出口日期 / Fecha de exportación {_text(exp)} is after the registration date "
                           f"{_text(created)[:10]}: SIVECA registers goods after they are exported")


@rule(REGISTRATION, code="siveca-arrival-before-export",
      doc="the estimated arrival in Paraguay is not before the export date")
def arrival_not_before_export(root, ctx):
    exp, arr = _first(R_EXPORT_DATE, root), _first(R_ARRIVAL, root)
    if exp is not None and arr is not None and _text(arr) < _text(exp):
        yield Finding(arr, f"预计到达日期 / Fecha estimada de llegada {_text(arr)} is before the export date "
                           f"{_text(exp)}")


@rule(REGISTRATION, code="siveca-arrival-not-py", doc="the place of arrival is in Paraguay (UN/LOCODE PY...)")
def arrival_in_py(root, ctx):
    el = _first(R_PLACE_ARRIVAL, root)
    if el is not None and not (el.get("unlocode") or "").startswith("PY"):
        yield Finding(el, f"到达地 / Lugar de llegada {el.get('unlocode')}: the place of arrival must be in "
                          f"Paraguay (a UN/LOCODE starting with PY, e.g. PYASU Asunción)")


@rule(REGISTRATION, code="siveca-weight-implausible",
      doc="container cargo gross mass at most 36,000 kg (largest ISO 668 rating)")
def weight_plausible(root, ctx):
    for c in R_CONTAINERS(root):
        el = c.find("siv:GrossWeightKg", NS)
        w = _dec(el)
        if w is not None and w > MAX_CONTAINER_CARGO_KG:
            yield Finding(el, f"毛重 / Peso bruto {w} kg: more than {MAX_CONTAINER_CARGO_KG} kg cannot be in one "
                              f"container (largest ISO 668 rating); is the unit tonnes or grams?")


@rule(REGISTRATION, code="siveca-net-exceeds-gross",
      doc="the goods lines' net mass does not exceed the container gross mass")
def net_not_above_gross(root, ctx):
    for c in R_CONTAINERS(root):
        gross = _dec(c.find("siv:GrossWeightKg", NS))
        nets = [_dec(e) for e in c.iterfind("siv:GoodsItem/siv:NetWeightKg", NS)]
        if gross is None or not nets or any(n is None for n in nets):
            continue
        total = sum(nets, Decimal(0))
        if total > gross:
            yield Finding(c.find("siv:GrossWeightKg", NS),
                          f"净重 / Peso neto of the goods lines ({total} kg) exceeds the container's gross mass "
                          f"(毛重 / Peso bruto {gross} kg)")


@rule(REGISTRATION, code="siveca-line-numbering",
      doc="goods lines are numbered in ascending order without repeats (PRC item numbers are kept)")
def line_numbering(root, ctx):
    for c in R_CONTAINERS(root):
        previous = 0
        for item in R_GOODS(c):
            line = int(item.get("line") or 0)
            if line <= previous:
                yield Finding(item, f"商品项号 / Número de ítem: goods line {line} follows line {previous}; lines "
                                    f"must be numbered in ascending order without repeats")
                break
            previous = line


_HS_CHAPTERS = {f"{n:02d}" for n in range(1, 98)} - {"77"}   # HS chapters 01-97; 77 is reserved


@rule(REGISTRATION, code="siveca-hs-chapter", doc="the HS code's chapter exists (01-97, not 77)")
def hs_chapter(root, ctx):
    for el in R_HS(root):
        code = _text(el)
        if code[:2] not in _HS_CHAPTERS:
            yield Finding(el, f"商品编号 / Posición arancelaria {code}: chapter {code[:2]} does not exist in the "
                              f"Harmonized System (chapters 01-97, 77 reserved)")


def _check_party(el, allowed: set[str], role: str):
    if el is None:
        return
    scheme, value = el.get("scheme"), _text(el)
    if scheme not in allowed:
        yield Finding(el, f"{role}: identifier scheme {scheme} is not accepted here (use {' or '.join(sorted(allowed))})",
                      code="siveca-party-scheme")
    elif scheme == "CN_USCC" and not uscc_ok(value):
        yield Finding(el, f"{role} 统一社会信用代码 {value}: not a valid unified social credit code (18 characters, "
                          f"last one a GB 32100-2015 check character)", code="siveca-uscc-check")
    elif scheme == "PY_RUC" and not ruc_ok(value):
        yield Finding(el, _ruc_message(role, value), code="siveca-ruc-check-digit")
    elif scheme == "HK_BR" and not re.fullmatch(r"[0-9]{8}", value):
        yield Finding(el, f"{role}: Hong Kong business registration number {value} is not 8 digits",
                      code="siveca-party-scheme")


def _ruc_message(role: str, value: str) -> str:
    base, _, dv = value.partition("-")
    if base.isdigit() and dv.isdigit():
        return (f"{role} RUC {value}: the check digit should be {ruc_check_digit(base)}, not {dv} "
                f"(SET modulo-11 routine)")
    return f"{role} RUC {value}: write the RUC as digits, hyphen, check digit (e.g. 80069563-1)"


@rule(REGISTRATION, code="siveca-party-scheme",
      doc="exporter is CN_USCC or HK_BR, importer PY_RUC; the identifier is well formed (also reports "
          "siveca-uscc-check and siveca-ruc-check-digit)")
def registration_parties(root, ctx):
    yield from _check_party(_first(R_EXPORTER_ID, root), {"CN_USCC", "HK_BR"}, "出口商 / Exportador")
    yield from _check_party(_first(R_IMPORTER_ID, root), {"PY_RUC"}, "进口商 / Importador")


@rule(REGISTRATION, code="siveca-importer-ruc-missing", severity="warning",
      doc="the importer's RUC is missing: SOFIA may not match the CID to the importer")
def importer_ruc_present(root, ctx):
    if _first(R_IMPORTER_ID, root) is None:
        importer = _first(R_IMPORTER, root)
        yield Finding(importer, "进口商 / Importador: no RUC; SOFIA may not be able to match the CID to the importer "
                                "at clearance (add the RUC, which a PRC declaration does not carry)")


# --------------------------------------------------------------------------------------------------------------
# CID notification
# --------------------------------------------------------------------------------------------------------------

@rule(NOTIFICATION, code="siveca-container-check-digit", doc="container numbers carry a valid ISO 6346 check digit")
def notification_container_digits(root, ctx):
    yield from _check_containers(N_CONTAINER_NOS(root))


def _duplicates(elements, what: str):
    seen = {}
    for el in elements:
        v = _text(el)
        if v in seen:
            yield Finding(el, f"{what} {v} appears twice (also at position {seen[v]}): one CID per container")
        else:
            seen[v] = len(seen) + 1


@rule(NOTIFICATION, code="siveca-duplicate-container", doc="a container appears once per notification")
def duplicate_container(root, ctx):
    yield from _duplicates(N_CONTAINER_NOS(root), "集装箱号 / Número de contenedor")


@rule(NOTIFICATION, code="siveca-duplicate-cid", doc="a CID is not reused for another container (A.13 rule 6)")
def duplicate_cid(root, ctx):
    yield from _duplicates(N_CIDS(root), "数字识别代码 / CID")


def _check_cids(elements):
    for el in elements:
        v = el.text or ""
        if not _CID_OK.fullmatch(v):
            yield Finding(el, f"数字识别代码 / CID {v!r}: a CID is 4 to 64 visible ASCII characters without spaces "
                              f"(the official format is not published)")


@rule(NOTIFICATION, code="siveca-cid-format", doc="CID is 4-64 visible ASCII characters (format not published)")
def notification_cid_format(root, ctx):
    yield from _check_cids(N_CIDS(root))


@rule(NOTIFICATION, code="siveca-cid-issued-after-notification",
      doc="a CID is issued no later than the notification that carries it")
def issued_not_after_notification(root, ctx):
    created = _first(N_CREATED, root)
    if created is None:
        return
    try:
        sent = _parse_dt(_text(created))
    except ValueError:
        return
    for el in N_ISSUED(root):
        try:
            issued = _parse_dt(_text(el))
        except ValueError:
            continue
        if issued > sent:
            yield Finding(el, f"发出时间 / Fecha de emisión {_text(el)} is after the notification time "
                              f"{_text(created)}")


def _parse_dt(s: str):
    from datetime import datetime, timezone
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@rule(NOTIFICATION, code="siveca-party-scheme", doc="exporter is CN_USCC or HK_BR, importer PY_RUC")
def notification_parties(root, ctx):
    yield from _check_party(_first(N_EXPORTER_ID, root), {"CN_USCC", "HK_BR"}, "出口商 / Exportador")
    yield from _check_party(_first(N_IMPORTER_ID, root), {"PY_RUC"}, "进口商 / Importador")


# --------------------------------------------------------------------------------------------------------------
# CID check (consultarCid / consultarCidResponse)
# --------------------------------------------------------------------------------------------------------------

@rule(CHECK_REQUEST, code="siveca-check-needs-key", doc="consultarCid names a container, a CID or both")
def check_needs_key(root, ctx):
    if not Q_CONTAINER(root) and not Q_CID(root):
        yield Finding(root, "consultarCid: give the contenedor (container number), the cid, or both")


@rule(CHECK_REQUEST, code="siveca-container-check-digit", doc="container numbers carry a valid ISO 6346 check digit")
def request_container_digits(root, ctx):
    yield from _check_containers(Q_CONTAINER(root))


@rule(CHECK_REQUEST, code="siveca-cid-format", doc="CID is 4-64 visible ASCII characters (format not published)")
def request_cid_format(root, ctx):
    yield from _check_cids(Q_CID(root))


def _check_rucs(elements):
    for el in elements:
        if not ruc_ok(_text(el)):
            yield Finding(el, _ruc_message("Importador", _text(el)), code="siveca-ruc-check-digit")


@rule(CHECK_REQUEST, code="siveca-ruc-check-digit", doc="the importer RUC carries its check digit")
def request_ruc(root, ctx):
    yield from _check_rucs(Q_RUC(root))


@rule(CHECK_RESPONSE, code="siveca-ruc-check-digit", doc="the importer RUC carries its check digit")
def response_ruc(root, ctx):
    yield from _check_rucs(A_RUC(root))


@rule(CHECK_RESPONSE, code="siveca-container-check-digit", doc="container numbers carry a valid ISO 6346 check digit")
def response_container_digits(root, ctx):
    yield from _check_containers(A_CONTAINER(root))


@rule(CHECK_RESPONSE, code="siveca-cid-format", doc="CID is 4-64 visible ASCII characters (format not published)")
def response_cid_format(root, ctx):
    yield from _check_cids(A_CID(root))


@rule(CHECK_RESPONSE, code="siveca-found-without-cid", doc="encontrado=S comes with cidDatos")
def found_has_cid(root, ctx):
    found = _first(A_FOUND, root)
    if found is not None and _text(found) == "S" and not A_DATA(root):
        yield Finding(found, "encontrado = S but the answer has no cidDatos (the CID found)")


@rule(CHECK_RESPONSE, code="siveca-not-found-without-reason", doc="encontrado=N says why in errores/retorno")
def not_found_has_reason(root, ctx):
    found = _first(A_FOUND, root)
    if found is not None and _text(found) == "N":
        if not A_RETORNO(root):
            yield Finding(found, "encontrado = N without errores/retorno: say why no CID was found "
                                 "(without a CID the container cannot be cleared)")
        if A_DATA(root):
            yield Finding(A_DATA(root)[0], "encontrado = N but the answer carries cidDatos")
