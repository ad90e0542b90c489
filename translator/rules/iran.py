"""Business rules of the Iran order-registration family (spec/siveca_iran.md B.10), pure and cheap.

Rules that need data the source does not publish (the MIMT tariff list, the machinery/CBU lists, quotas from
Domestic Trade, the stored mode of an existing file, goods-ID lists per tariff) are not checked here; the
document-level approximations used instead are listed in docs/formats/iran.md.

Money: the 500,000 / 100,000 "dollar" caps ([S2 l.13, l.26]) are tested on TotalProformaAmount in US dollars:
the amount itself when the file currency is USD, otherwise FinancialAndBanking/UsdEquivalent (filled by the hub).
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree

from . import Finding, rule

ORD = "urn:hub:ir:cts:order-registration:1"
NS = {"ord": ORD}
FILE = "iran:OrderRegistration"
STATUS = "iran:FileStatusNotification"
FEE = "iran:FeeNotice"

CAP_NO_HISTORY_USD = Decimal("500000")     # [S2 l.13]
CAP_NEW_TRADER_USD = Decimal("100000")     # [S2 l.26]
NEW_TRADER_FROM = date(2025, 3, 21)        # 1 Farvardin 1404: "after the year 1403" [S2 l.25]
YEAR_1403_FROM = date(2024, 3, 20)         # 1 Farvardin 1403: a card from 1403 itself is ambiguous -> warning
PROGRESS_MACHINERY = Decimal("35")         # "بالای ۳۵ درصد" [S2 l.20], strictly above
PROGRESS_RAW = Decimal("70")               # "بالای ۷۰ درصد" [S2 l.20], strictly above
TOLERANCE = Decimal("0.01")
FEE_RATE = Decimal("0.0005")               # 1/2000 [S2 l.110]
FEE_MIN_EUR = Decimal("100")               # [S2 l.108]
CENT = Decimal("0.01")


def _x(path: str) -> etree.XPath:
    return etree.XPath(path, namespaces=NS)


PROCESS = _x("ord:Header/ord:Process")
CREATED = _x("ord:Header/ord:CreatedAt")
FILE_NO = _x("ord:FileIdentification/ord:FileNumber")
ORDER_NO = _x("ord:FileIdentification/ord:OrderRegistrationNumber")
PREV_REF = _x("ord:FileIdentification/ord:PreviousRequestRef")
CARD = _x("ord:Applicant/ord:CommercialCard")
FX_AUTH = _x("ord:Applicant/ord:FxLicensingAuthority")
HAS_UNIT = _x("ord:Applicant/ord:HasLicensedProductionUnit")
PI_ISSUE = _x("ord:MainInformation/ord:FileInformation/ord:ProformaIssueDate")
PI_VALID = _x("ord:MainInformation/ord:FileInformation/ord:ProformaValidityDate")
MODE = _x("ord:MainInformation/ord:OrderRegistrationMode")
LICENCE = _x("ord:MainInformation/ord:EstablishmentLicence")
UNIT = _x("ord:MainInformation/ord:ProductionUnit")
CONTRACT = _x("ord:CustomsAndTransport/ord:ContractType")
MULTI = _x("ord:CustomsAndTransport/ord:MultipleShipments")
THROUGH = _x("ord:CustomsAndTransport/ord:ThroughTransport")
SHIPMENTS = _x("ord:CustomsAndTransport/ord:Shipment")
FIN = _x("ord:FinancialAndBanking")
ITEMS = _x("ord:Goods/ord:Item")
DOC_TYPES = _x("ord:Documents/ord:Document/@type")

MODE_LABEL = {
    "NONE": "هیچ کدام (None)",
    "NO_HISTORY_UP_TO_500K": "واردات بدون سابقه تا ۵۰۰ هزار دلار (no import history, up to 500,000 USD)",
    "OWN_PRODUCTION_NEED": "نیاز تولید خود (own production need)",
    "EST_LICENCE_RAW_MATERIALS_MACHINERY": "مواد اولیه و ماشین آلات خط تولید واحد دارای جواز تأسیس "
                                           "(raw materials and machinery, establishment licence)",
}


def _first(xp, root):
    found = xp(root)
    return found[0] if found else None


def _text(el) -> str:
    if el is None:
        return ""
    return (el if isinstance(el, str) else (el.text or "")).strip()


def _dec(el) -> Decimal | None:
    try:
        return Decimal(_text(el))
    except InvalidOperation:
        return None


def _date(s: str) -> date | None:
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        return None


def _mode(root) -> str:
    return _text(_first(MODE, root)) or "NONE"      # IR-M1: absent means NONE


def _child(el, name):
    return el.find(f"ord:{name}", NS) if el is not None else None


def usd_value(root) -> Decimal | None:
    """The file value in US dollars for the caps, or None when it cannot be known from the document."""
    fin = _first(FIN, root)
    if fin is None:
        return None
    if fin.get("currency") == "USD":
        return _dec(_child(fin, "TotalProformaAmount"))
    eq = _child(fin, "UsdEquivalent")
    return _dec(eq) if eq is not None else None


def _new_trader(root) -> str | None:
    """'new' when the commercial card is from 1404 or later and the FX authority is MIMT, '1403' when from 1403."""
    card, auth = _first(CARD, root), _text(_first(FX_AUTH, root))
    if card is None or auth != "MIMT":
        return None
    issued = _date(card.get("issueDate") or "")
    if issued is None:
        return None
    if issued >= NEW_TRADER_FROM:
        return "new"
    if issued >= YEAR_1403_FROM:
        return "1403"
    return None


def _categories(root) -> list[tuple[etree._Element, str]]:
    return [(it, _text(_child(it, "GoodsCategory"))) for it in ITEMS(root)]


# --------------------------------------------------------------------------------------------------------------
# order-registration mode (IR-M*)
# --------------------------------------------------------------------------------------------------------------

@rule(FILE, code="iran-usd-equivalent-missing",
      doc="a dollar cap applies but the file is not in USD and carries no UsdEquivalent")
def usd_equivalent_present(root, ctx):
    capped = _mode(root) == "NO_HISTORY_UP_TO_500K" or _new_trader(root) in ("new", "1403")
    fin = _first(FIN, root)
    if capped and fin is not None and fin.get("currency") != "USD" and _child(fin, "UsdEquivalent") is None:
        yield Finding(fin, f"نوع ارز {fin.get('currency')}: this file is subject to a dollar ceiling; give "
                           f"UsdEquivalent (the total in US dollars and the rate date) so the ceiling can be checked")


@rule(FILE, code="iran-mode-cap-500k", doc="mode NO_HISTORY_UP_TO_500K: file value at most 500,000 USD (IR-M5)")
def cap_500k(root, ctx):
    if _mode(root) != "NO_HISTORY_UP_TO_500K":
        return
    value = usd_value(root)
    if value is not None and value > CAP_NO_HISTORY_USD:
        yield Finding(_first(MODE, root), f"حالت ثبت سفارش {MODE_LABEL['NO_HISTORY_UP_TO_500K']}: the file is worth "
                                          f"{value:,} USD, above the ceiling of 500,000 USD [S2 l.13]")


@rule(FILE, code="iran-mode-fx-authority",
      doc="mode NO_HISTORY_UP_TO_500K only when the FX-licensing authority is MIMT (IR-M3, trader level)")
def no_history_needs_mimt(root, ctx):
    if _mode(root) == "NO_HISTORY_UP_TO_500K":
        auth = _first(FX_AUTH, root)
        if _text(auth) != "MIMT":
            yield Finding(auth, f"دستگاه مجوزدهنده ارزی {_text(auth)}: the mode 'no import history up to 500,000 USD' "
                                f"is only for goods whose FX-licensing authority is MIMT (وزارت صمت) [S2 l.14]")


@rule(FILE, code="iran-mode-machinery",
      doc="mode NO_HISTORY_UP_TO_500K excludes machinery and equipment (IR-M4)")
def no_history_no_machinery(root, ctx):
    if _mode(root) != "NO_HISTORY_UP_TO_500K":
        return
    for it, cat in _categories(root):
        if cat == "MACHINERY":
            yield Finding(_child(it, "GoodsCategory"),
                          f"ردیف {it.get('row')} ({_text(_child(it, 'TariffCode'))}): machinery and equipment cannot be "
                          f"registered in the mode 'no import history up to 500,000 USD' [S2 l.15]")


@rule(FILE, code="iran-mode-production-unit",
      doc="mode OWN_PRODUCTION_NEED needs a production unit with an operating licence (IR-M6)")
def own_production_needs_unit(root, ctx):
    if _mode(root) != "OWN_PRODUCTION_NEED":
        return
    unit = _first(UNIT, root)
    if unit is None or _text(_child(unit, "HasOperatingLicence")) not in ("true", "1"):
        yield Finding(_first(MODE, root), f"حالت ثبت سفارش {MODE_LABEL['OWN_PRODUCTION_NEED']}: only for a trader "
                                          f"whose production unit holds an operating licence (پروانه بهره برداری) "
                                          f"[S2 l.17]")


@rule(FILE, code="iran-mode-goods-category",
      doc="mode EST_LICENCE: every item is production-line machinery or a raw material (IR-M7)")
def est_licence_goods(root, ctx):
    if _mode(root) != "EST_LICENCE_RAW_MATERIALS_MACHINERY":
        return
    for it, cat in _categories(root):
        if cat not in ("MACHINERY", "RAW_MATERIAL"):
            yield Finding(it, f"ردیف {it.get('row')}: in the establishment-licence mode every item must be "
                              f"production-line machinery or a raw material (GoodsCategory is "
                              f"{cat or 'missing'}) [S2 l.20]")


@rule(FILE, code="iran-licence-progress",
      doc="mode EST_LICENCE: licence progress above 35 % for machinery, above 70 % for raw materials (IR-M8)")
def licence_progress(root, ctx):
    if _mode(root) != "EST_LICENCE_RAW_MATERIALS_MACHINERY":
        return
    lic = _first(LICENCE, root)
    if lic is None:
        yield Finding(_first(MODE, root), "جواز تأسیس: the establishment-licence mode needs the EstablishmentLicence "
                                          "(licence number and physical progress) [S2 l.20]")
        return
    try:
        progress = Decimal(lic.get("physicalProgressPercent") or "")
    except InvalidOperation:
        return
    cats = {c for _, c in _categories(root)}
    if "MACHINERY" in cats and progress <= PROGRESS_MACHINERY:
        yield Finding(lic, f"پیشرفت فیزیکی {progress} %: machinery needs physical progress above 35 % [S2 l.20]")
    if "RAW_MATERIAL" in cats and progress <= PROGRESS_RAW:
        yield Finding(lic, f"پیشرفت فیزیکی {progress} %: raw materials need physical progress above 70 % [S2 l.20]")


@rule(FILE, code="iran-new-trader-mode",
      doc="commercial card from 1404 on, FX authority MIMT: only mode NONE (IR-M9)")
def new_trader_mode(root, ctx):
    if _new_trader(root) == "new" and _mode(root) != "NONE":
        yield Finding(_first(MODE, root), f"کارت بازرگانی {_first(CARD, root).get('issueDate')}: a trader whose "
                                          f"commercial card dates from after 1403 and whose FX authority is MIMT may "
                                          f"only use the mode هیچ کدام (None) [S2 l.25-28]")


@rule(FILE, code="iran-new-trader-cap-100k",
      doc="commercial card from 1404 on, FX authority MIMT: file value at most 100,000 USD (IR-M9)")
def new_trader_cap(root, ctx):
    if _new_trader(root) != "new":
        return
    value = usd_value(root)
    if value is not None and value > CAP_NEW_TRADER_USD:
        yield Finding(_first(FIN, root), f"مبلغ کل پیش فاکتور: {value:,} USD is above the 100,000 USD ceiling for a "
                                         f"trader whose commercial card dates from after 1403 (FX authority MIMT) "
                                         f"[S2 l.26]")


@rule(FILE, code="iran-new-trader-1403", severity="warning",
      doc="card issued in 1403 itself: the new-trader limits may apply ('after 1403' is ambiguous)")
def card_from_1403(root, ctx):
    if _new_trader(root) != "1403":
        return
    value = usd_value(root)
    if _mode(root) != "NONE" or (value is not None and value > CAP_NEW_TRADER_USD):
        yield Finding(_first(CARD, root), "کارت بازرگانی issued in 1403: the guide limits traders whose card is from "
                                          "'after 1403' to mode None and 100,000 USD; confirm whether 1403 itself "
                                          "counts before submitting [S2 l.25]")


# --------------------------------------------------------------------------------------------------------------
# main information, seller, production unit (IR-F*, IR-P*)
# --------------------------------------------------------------------------------------------------------------

@rule(FILE, code="iran-pi-dates", doc="PI validity date not before the PI issue date (IR-F2)")
def pi_dates(root, ctx):
    issue, valid = _first(PI_ISSUE, root), _first(PI_VALID, root)
    if issue is not None and valid is not None and _text(valid) < _text(issue):
        yield Finding(valid, f"تاریخ اعتبار پیش فاکتور {_text(valid)} is before تاریخ صدور پیش فاکتور {_text(issue)}")


@rule(FILE, code="iran-pi-expired", severity="warning",
      doc="the PI is no longer valid on the day the file is sent (IR-F2, rules inquiry)")
def pi_not_expired(root, ctx):
    valid, created = _first(PI_VALID, root), _first(CREATED, root)
    if valid is not None and created is not None and _text(valid) < _text(created)[:10]:
        yield Finding(valid, f"تاریخ اعتبار پیش فاکتور {_text(valid)} has passed (file sent {_text(created)[:10]}): "
                             f"the rules inquiry will reject an expired proforma invoice")


@rule(FILE, code="iran-production-unit-required",
      doc="a trader with an operating-licensed production unit must select it (IR-P1)")
def production_unit_required(root, ctx):
    has = _first(HAS_UNIT, root)
    if has is not None and _text(has) in ("true", "1") and _first(UNIT, root) is None:
        yield Finding(has, "اطلاعات واحدهای تولیدی: the trader has a production unit with an operating licence, so "
                           "selecting it is mandatory [S2 l.35]")


@rule(FILE, code="iran-production-unit-fields",
      doc="Behinyab unit needs BusinessId, Ministry of Energy an activity licence, others a province (IR-P2)")
def production_unit_fields(root, ctx):
    unit = _first(UNIT, root)
    if unit is None:
        return
    kind = _text(_child(unit, "UnitType"))
    need = {"INDUSTRIAL_BEHINYAB": ("BusinessId", "شناسه کسب وکار"),
            "MINISTRY_OF_ENERGY": ("ActivityLicenceId", "مجوز فعالیت")}.get(kind, ("Province", "استان محل فعالیت"))
    if _child(unit, need[0]) is None:
        yield Finding(_child(unit, "UnitType"), f"نوع واحد تولیدی {kind}: {need[1]} ({need[0]}) is required for this "
                                                f"unit type [S2 l.36-38]")


# --------------------------------------------------------------------------------------------------------------
# customs and transport (IR-T*)
# --------------------------------------------------------------------------------------------------------------

@rule(FILE, code="iran-transport-contract",
      doc="the transport method is allowed for the contract type: FAS/FOB/CFR/CIF are sea/inland-waterway only (IR-T2)")
def transport_for_contract(root, ctx):
    contract = _first(CONTRACT, root)
    row = ctx.codes["iran_contract_type"].get(_text(contract)) if contract is not None else None
    if not row or row.get("sea_only") != "Y":
        return
    for s in SHIPMENTS(root):
        method = _child(s, "TransportMethod")
        if _text(method) not in ("SEA", "INLAND_WATERWAY"):
            yield Finding(method, f"روش حمل {_text(method)} is not possible with نوع قرارداد {_text(contract)}: "
                                  f"Incoterms 2020 {_text(contract)} is for sea and inland waterway transport only")


@rule(FILE, code="iran-shipment-count", doc="without multiple shipments exactly one shipment (IR-T4)")
def shipment_count(root, ctx):
    multi, ships = _first(MULTI, root), SHIPMENTS(root)
    if multi is not None and _text(multi) in ("false", "0") and len(ships) > 1:
        yield Finding(ships[1], f"حمل به دفعات is not ticked but the file has {len(ships)} shipments: tick "
                                f"multiple shipments or keep one [S2 l.44]")


@rule(FILE, code="iran-through-transport",
      doc="through transport only when every item has special conditions (perishable, pharmaceutical, ...) (IR-T5)")
def through_transport(root, ctx):
    through = _first(THROUGH, root)
    if through is None or _text(through) not in ("true", "1"):
        return
    for it in ITEMS(root):
        if _child(it, "SpecialCondition") is None:
            yield Finding(it, f"حمل یکسره: row {it.get('row')} ({_text(_child(it, 'TariffCode'))}) is not a "
                              f"special-condition good (perishable, pharmaceutical, ...); through transport is only "
                              f"for such goods [S2 l.45]")


# --------------------------------------------------------------------------------------------------------------
# financial (IR-$*)
# --------------------------------------------------------------------------------------------------------------

@rule(FILE, code="iran-total-mismatch",
      doc="TotalProformaAmount = Σ FobAmount + FreightCost + OtherCosts − DiscountAmount (IR-$1)")
def total_formula(root, ctx):
    fin = _first(FIN, root)
    if fin is None:
        return
    total = _dec(_child(fin, "TotalProformaAmount"))
    parts = [_dec(_child(fin, n)) for n in ("FreightCost", "OtherCosts", "DiscountAmount")]
    fobs = [_dec(_child(it, "FobAmount")) for it in ITEMS(root)]
    if total is None or None in parts or None in fobs:
        return
    expected = sum(fobs, Decimal(0)) + parts[0] + parts[1] - parts[2]
    if abs(expected - total) > TOLERANCE:
        yield Finding(_child(fin, "TotalProformaAmount"),
                      f"مبلغ کل پیش فاکتور {total} ≠ Σ مبلغ فوب کالا {sum(fobs, Decimal(0))} + هزینه حمل {parts[0]} "
                      f"+ سایر هزینه ها {parts[1]} − مبلغ تخفیف {parts[2]} = {expected} [S2 l.49]")


@rule(FILE, code="iran-bank-required", doc="FX operation BANKING needs bank and branch (IR-$3)")
def bank_required(root, ctx):
    fin = _first(FIN, root)
    if fin is not None and _text(_child(fin, "FxOperationType")) == "BANKING" and _child(fin, "Bank") is None:
        yield Finding(_child(fin, "FxOperationType"), "نوع عملیات ارزی بانکی: choose the bank and branch (بانک و شعبه) "
                                                      "[S2 l.53]")


@rule(FILE, code="iran-group4-banking",
      doc="goods group 4 may use BANKING only with a prior Central Bank allocation (IR-$5)")
def group4_banking(root, ctx):
    fin = _first(FIN, root)
    if fin is None or _text(_child(fin, "FxOperationType")) != "BANKING" or _child(fin, "CentralBankAllocationRef") is not None:
        return
    for it in ITEMS(root):
        if _text(_child(it, "FxGoodsGroup")) == "4":
            yield Finding(_child(it, "FxGoodsGroup"), f"گروه کالایی ۴ (row {it.get('row')}): the Banking FX operation is "
                                                      f"only possible when the file already has a Central Bank "
                                                      f"allocation or supply [S2 l.54]")


@rule(FILE, code="iran-cbi-allocation", severity="warning",
      doc="priorities 21-27 buying from the banking system need a Central Bank allocation (IR-$4)")
def cbi_allocation(root, ctx):
    fin = _first(FIN, root)
    if (fin is None or _text(_child(fin, "FxSupplyMethod")) != "BANK_SYSTEM_PURCHASE"
            or _child(fin, "CentralBankAllocationRef") is not None):
        return
    for it in ITEMS(root):
        p = _text(_child(it, "FxPriority"))
        if p.isdigit() and 21 <= int(p) <= 27:
            yield Finding(_child(it, "FxPriority"), f"اولویت {p} (row {it.get('row')}): purchase from the banking "
                                                    f"system needs an FX allocation by the Central Bank [S2 l.54]")


# --------------------------------------------------------------------------------------------------------------
# goods (IR-G*) and documents (IR-D1)
# --------------------------------------------------------------------------------------------------------------

@rule(FILE, code="iran-goods-spec-or-standard", doc="technical specifications or standard, at least one (IR-G3)")
def spec_or_standard(root, ctx):
    for it in ITEMS(root):
        if _child(it, "TechnicalSpecifications") is None and _child(it, "Standard") is None:
            yield Finding(it, f"ردیف {it.get('row')}: fill in مشخصات فنی (technical specifications) or استاندارد "
                              f"(standard) [S2 l.63]")


@rule(FILE, code="iran-org-goods-id",
      doc="goods regulated by the Ministry of Health need an IRC, veterinary drugs an IVC (IR-G4, IR-G5)")
def org_goods_id(root, ctx):
    for it in ITEMS(root):
        orgs = {_text(e) for e in it.iterfind("ord:RegulatedBy", NS)}
        oid = _child(it, "OrganizationGoodsId")
        scheme = oid.get("scheme") if oid is not None else None
        for org, want, label in (("MOH", "IRC", "وزارت بهداشت"), ("IVO", "IVC", "سازمان دامپزشکی")):
            if org in orgs and scheme != want:
                yield Finding(oid if oid is not None else it,
                              f"ردیف {it.get('row')}: goods regulated by {label} need شناسه سازمان کالا {want} "
                              f"(got {scheme or 'none'}); obtain it before registering the goods [S2 l.64-65]")


@rule(FILE, code="iran-row-duplicate", doc="goods row numbers are unique (IR-G7)")
def row_unique(root, ctx):
    seen = set()
    for it in ITEMS(root):
        row = it.get("row")
        if row in seen:
            yield Finding(it, f"ردیف کالا {row} appears twice: give each goods row its own number")
        seen.add(row)


@rule(FILE, code="iran-fob-mismatch", doc="Quantity × UnitPrice = FobAmount when a unit price is given")
def fob_formula(root, ctx):
    for it in ITEMS(root):
        price, qty, fob = (_dec(_child(it, n)) for n in ("UnitPrice", "Quantity", "FobAmount"))
        if _child(it, "UnitPrice") is None or None in (price, qty, fob):
            continue
        expected = (qty * price).quantize(CENT, ROUND_HALF_UP)
        if abs(expected - fob) > TOLERANCE:
            yield Finding(_child(it, "FobAmount"), f"ردیف {it.get('row')}: مبلغ فوب کالا {fob} ≠ مقدار {qty} × "
                                                   f"قیمت واحد {price} = {expected}")


@rule(FILE, code="iran-documents-missing", severity="warning",
      doc="the PI image and the contract are recommended uploads (IR-D1)")
def documents_present(root, ctx):
    have = {str(t) for t in DOC_TYPES(root)}
    missing = [t for t in ("PROFORMA_INVOICE_IMAGE", "CONTRACT") if t not in have]
    if missing:
        yield Finding(root, f"مستندات پرونده: no {' and no '.join(missing)} uploaded; the guide asks for the PI image "
                            f"and the contract [S2 l.68]")


# --------------------------------------------------------------------------------------------------------------
# process and identifiers (IR-L4)
# --------------------------------------------------------------------------------------------------------------

@rule(FILE, code="iran-process-refs",
      doc="opening carries no order-registration number; amendment/extension carry file and order numbers (IR-L4)")
def process_refs(root, ctx):
    proc_el = _first(PROCESS, root)
    proc = _text(proc_el)
    if not proc:
        yield Finding(_first(CREATED, root), "فرایند (Header/Process) is required: OPENING, AMENDMENT, EXTENSION or "
                                             "EXTENSION_AMENDMENT")
        return
    order_no = _first(ORDER_NO, root)
    if proc == "OPENING" and order_no is not None:
        yield Finding(order_no, "شماره ثبت سفارش exists only after the fee is paid: an opening request cannot "
                                "carry one [S2 l.120]")
    if proc != "OPENING":
        for xp, label in ((FILE_NO, "شماره پرونده (FileNumber)"), (ORDER_NO, "شماره ثبت سفارش (OrderRegistrationNumber)")):
            if _first(xp, root) is None:
                yield Finding(proc_el, f"فرایند {proc}: {label} of the registered file is required")
    if proc in ("AMENDMENT", "EXTENSION_AMENDMENT") and _first(PREV_REF, root) is None:
        yield Finding(proc_el, f"فرایند {proc}: PreviousRequestRef is required (the amendment fee is 1/2000 of the "
                               f"difference to the previous request [S2 l.112])")


# --------------------------------------------------------------------------------------------------------------
# file status notification
# --------------------------------------------------------------------------------------------------------------

S_STATUS = _x("ord:Status")
S_ORDER_NO = _x("ord:OrderRegistrationNumber")
S_ERRORS = _x("ord:Messages/ord:Message[@severity='ERROR']")


@rule(STATUS, code="iran-registration-number",
      doc="the order-registration number is given exactly when the status is REGISTERED")
def registration_number(root, ctx):
    status, number = _first(S_STATUS, root), _first(S_ORDER_NO, root)
    if _text(status) == "REGISTERED" and number is None:
        yield Finding(status, "وضعیت REGISTERED: the eight-digit شماره ثبت سفارش is missing [S2 l.120]")
    elif _text(status) != "REGISTERED" and number is not None:
        yield Finding(number, f"شماره ثبت سفارش given while the status is {_text(status)}: the number exists only "
                              f"once the fee is paid and the order is registered [S2 l.120]")


@rule(STATUS, code="iran-rejection-without-reason",
      doc="a rejection (PI_REJECTED, PERMIT_REJECTED) carries at least one ERROR message")
def rejection_reason(root, ctx):
    status = _first(S_STATUS, root)
    if _text(status) in ("PI_REJECTED", "PERMIT_REJECTED") and not S_ERRORS(root):
        yield Finding(status, f"وضعیت {_text(status)} without an ERROR message: the trader must see why the file "
                              f"was rejected (پیام ها و هشدارهای دریافتی [S2 l.77])")


# --------------------------------------------------------------------------------------------------------------
# fee notice (IR-FEE1, IR-FEE2)
# --------------------------------------------------------------------------------------------------------------

F_BASIS_EUR = _x("ord:BasisAmountEur")
F_FEE_EUR = _x("ord:FeeEur")
F_FEE_IRR = _x("ord:FeeIrr")
F_INSTRUMENT = _x("ord:PaymentInstrument")


def fee_eur(process: str, basis_eur: Decimal, instrument: str | None = None, instrument_valid: bool = False) -> Decimal:
    """The order-registration fee in euros ([S2 l.108-117]): max(100, basis / 2000); an extension (or
    extension/amendment) of a file paid by a still-valid letter of credit or documentary bills pays a flat 100."""
    if (process in ("EXTENSION", "EXTENSION_AMENDMENT") and instrument in ("LETTER_OF_CREDIT", "DOCUMENTARY_BILLS")
            and instrument_valid):
        return FEE_MIN_EUR
    return max(FEE_MIN_EUR, (basis_eur * FEE_RATE).quantize(CENT, ROUND_HALF_UP))


@rule(FEE, code="iran-process-refs", doc="the fee notice names its process")
def fee_process(root, ctx):
    if not _text(_first(PROCESS, root)):
        yield Finding(_first(CREATED, root), "فرایند (Header/Process) is required: the fee basis depends on it")


@rule(FEE, code="iran-fee-amount", doc="FeeEur = max(100, BasisAmountEur / 2000), flat 100 for LC/bills extensions")
def fee_amount(root, ctx):
    proc = _text(_first(PROCESS, root))
    basis, fee = _dec(_first(F_BASIS_EUR, root)), _dec(_first(F_FEE_EUR, root))
    if not proc or basis is None or fee is None:
        return
    inst = _first(F_INSTRUMENT, root)
    want = fee_eur(proc, basis, _text(inst) or None, inst is not None and inst.get("valid") in ("true", "1"))
    if abs(want - fee) > TOLERANCE:
        yield Finding(_first(F_FEE_EUR, root), f"کارمزد {fee} EUR; for {proc} on a basis of {basis} EUR it is {want} "
                                               f"EUR (1/2000 of the basis, at least 100 EUR) [S2 l.108-117]")


@rule(FEE, code="iran-fee-irr", doc="FeeIrr = FeeEur × eurRate, rounded to the rial")
def fee_irr(root, ctx):
    irr, fee = _first(F_FEE_IRR, root), _dec(_first(F_FEE_EUR, root))
    if irr is None or fee is None:
        return
    try:
        want = (fee * Decimal(irr.get("eurRate") or "")).quantize(Decimal(1), ROUND_HALF_UP)
    except InvalidOperation:
        return
    got = _dec(irr)
    if got is not None and abs(got - want) > 1:
        yield Finding(irr, f"معادل ریالی {got} IRR ≠ {fee} EUR × {irr.get('eurRate')} = {want} IRR")
