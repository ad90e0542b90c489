/* The PRC rule screen: the conditions of the DecMessage business rules (translator/rules/prc.py), evaluated
 * in C over the libxml2 tree lxml already holds, for a document the XSD has accepted.
 *
 * It answers one question: can any rule listed in COVERS report anything (error or warning) on this
 * document? True ("clear") means no; the validator then skips those rules. False ("suspect") means maybe:
 * the Python rules run as they always do and write the report. The Python rules stay the only source of
 * findings, messages, paths and severities; this file only has to be conservative. Wherever the exact
 * answer would take more than a few lines (a non-ASCII value where a rule reads characters, a number
 * written in a form outside the plain decimal grammar, a comment or CDATA inside a value, a rarely used
 * case such as a consolidated declaration or a transit name) it says "suspect". The differential
 * tests (tests/test_rule_screen.py) compare whole reports with and without the screen on every sample and
 * on thousands of mutated declarations.
 *
 * Values are read the way the rules read them: `el.text` (the element's text; here only a single text node,
 * anything else is suspect) and Python's str.strip() (the same Unicode white space, on the UTF-8 bytes).
 * Numbers are converted as float() does (exactly: Clinger's fast path, else PyOS_string_to_double, which is
 * what float() uses), so float comparisons agree bit for bit; the rules' Decimal comparisons are made on the
 * digits. Nothing here calls back into Python code that could change the tree, and the GIL is held throughout.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lxml_element.h"

static PyTypeObject *ElementType = NULL;

static const char DEC_NS[] = "http://www.chinaport.gov.cn/dec";
static const char DS_NS[] = "http://www.w3.org/2000/09/xmldsig#";

/* The rule codes of translator/rules/prc.py whose conditions this file evaluates. A rule not listed here
 * always runs in Python. */
static const char *COVERS[] = {
    "prc-group-count", "prc-pre-entry-id", "prc-entry-id", "prc-ie-flag-mismatch",
    "prc-number-customs-mismatch", "prc-date-invalid", "prc-date-order", "prc-export-ie-date",
    "prc-gross-lt-net", "prc-weight-below-one", "prc-items-net-gt-gross", "prc-gno-sequence",
    "prc-container-goods", "prc-container-weight", "prc-total-mismatch", "prc-quantity-unit",
    "prc-charge-incomplete", "prc-one-bill", "prc-transit-traf-name", "prc-consolidated-bill",
    "prc-no-crossing", "prc-temporary-notes", "prc-temporary-return-date", "prc-hs-note-required",
    "prc-marks-missing", "prc-party-code", "prc-overseas-party", "prc-promise-items",
    "prc-import-only-field", "prc-import-dest-code", "prc-processing-duty-mode", "prc-country-code",
    "prc-origin-proof", NULL};

/* DecHead children the rules read (sorted by bytes, for bsearch) */
enum {H_AgentCode, H_AgentCodeScc, H_AgentName, H_BillNo, H_CmplDschrgDt, H_CustomMaster, H_DDate, H_DespDate,
      H_DespPortCode, H_EntryId, H_FeeCurr, H_FeeMark, H_FeeRate, H_GrossWet, H_IEDate, H_IEFlag, H_InsurCurr,
      H_InsurMark, H_InsurRate, H_MarkNo, H_NetWt, H_NoteS, H_OtherCurr, H_OtherMark, H_OtherRate,
      H_OverseasConsigneeEname, H_OverseasConsignorCname, H_OverseasConsignorEname, H_OwnerCode, H_OwnerCodeScc,
      H_OwnerName, H_PreEntryId, H_PromiseItmes, H_TradeAreaCode, H_TradeCoScc, H_TradeCode, H_TradeCodeScc,
      H_TradeCountry, H_TradeMode, H_TradeName, H_TrafMode, H_TrafName, H_TransMode, NH};
static const char *HEAD_NAMES[NH] = {
    "AgentCode", "AgentCodeScc", "AgentName", "BillNo", "CmplDschrgDt", "CustomMaster", "DDate", "DespDate",
    "DespPortCode", "EntryId", "FeeCurr", "FeeMark", "FeeRate", "GrossWet", "IEDate", "IEFlag", "InsurCurr",
    "InsurMark", "InsurRate", "MarkNo", "NetWt", "NoteS", "OtherCurr", "OtherMark", "OtherRate",
    "OverseasConsigneeEname", "OverseasConsignorCname", "OverseasConsignorEname", "OwnerCode", "OwnerCodeScc",
    "OwnerName", "PreEntryId", "PromiseItmes", "TradeAreaCode", "TradeCoScc", "TradeCode", "TradeCodeScc",
    "TradeCountry", "TradeMode", "TradeName", "TrafMode", "TrafName", "TransMode"};

/* DecList children the rules read (sorted) */
enum {I_CodeTS, I_DeclPrice, I_DeclTotal, I_DestCode, I_DestinationCountry, I_DutyMode, I_FirstQty, I_FirstUnit,
      I_GNo, I_GQty, I_GUnit, I_OriginCountry, I_ProdValidDt, I_SecondQty, I_SecondUnit, NI};
static const char *ITEM_NAMES[NI] = {
    "CodeTS", "DeclPrice", "DeclTotal", "DestCode", "DestinationCountry", "DutyMode", "FirstQty", "FirstUnit",
    "GNo", "GQty", "GUnit", "OriginCountry", "ProdValidDt", "SecondQty", "SecondUnit"};

/* root groups: DecHead and DecLists exactly once, the others at most once (rule prc-group-count) */
static const char *GROUPS[] = {
    "DecHead", "DecLists", "DecContainers", "DecLicenseDocus", "DecRequestCerts", "DecOtherPacks", "DecCopLimits",
    "DecUsers", "DecCopPromises", "DecRoyaltyFee", "DecFreeTxt", "DecSign", NULL};
#define G_HEAD 0
#define G_LISTS 1
#define G_CONTAINERS 2
#define G_DOCUS 3
#define NGROUPS 12

typedef struct { const unsigned char *s; size_t n; } Str;   /* s == NULL: no text (lxml's None) */

typedef struct {
    PyObject_HEAD
    unsigned char countries[(26 * 26 * 26 + 7) / 8];   /* iso3166_alpha3 and prc_country_extra, AAA codes */
    char promise[128];                                  /* ASCII characters of prc_promise_flag */
    char agreements[100];                               /* two-digit codes of prc_trade_agreement */
    PyObject *processing_modes;                         /* TradeMode codes marked processing_trade = yes */
    PyObject *levy_as;                                  /* DutyMode codes with a processing_trade_as */
} ScreenObject;

/* -- reading the tree ---------------------------------------------------------------------------------- */
/* The namespace struct of the DecMessage namespace met last, reset at the start of each screen() call: within
 * one call the tree does not change (the GIL is held throughout), so a pointer match saves the string compare. */
static const xmlNs *dec_ns_seen = NULL;

static int is_ns(const xmlNode *n, const char *ns) {
    if (n->type != XML_ELEMENT_NODE || n->ns == NULL) return 0;
    if (ns == DEC_NS && n->ns == dec_ns_seen) return 1;
    if (n->ns->href == NULL || strcmp((const char *)n->ns->href, ns) != 0) return 0;
    if (ns == DEC_NS) dec_ns_seen = n->ns;
    return 1;
}

static int is_dec(const xmlNode *n, const char *name) {
    return is_ns(n, DEC_NS) && strcmp((const char *)n->name, name) == 0;
}

static int has_element_child(const xmlNode *n) {
    for (const xmlNode *c = n->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE) return 1;
    return 0;
}

/* el.text of an element holding at most one text node; 0 (suspect) for anything else */
static int leaf(const xmlNode *el, Str *out) {
    const xmlNode *c = el->children;
    out->s = NULL;
    out->n = 0;
    if (c == NULL) return 1;
    if (c->type == XML_TEXT_NODE && c->next == NULL && c->content != NULL) {
        out->s = c->content;
        out->n = strlen((const char *)c->content);
        if (out->n == 0) out->s = NULL;
        return 1;
    }
    return 0;
}

static const xmlNode *first_dec_child(const xmlNode *parent, const char *name) {
    for (const xmlNode *c = parent->children; c != NULL; c = c->next)
        if (is_dec(c, name)) return c;
    return NULL;
}

static int name_index(const char *const *names, int count, const char *name) {
    int lo = 0, hi = count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, cmp = strcmp(name, names[mid]);
        if (cmp == 0) return mid;
        if (cmp < 0) hi = mid - 1; else lo = mid + 1;
    }
    return -1;
}

/* name_index through a small table keyed by the name's pointer: libxml2 keeps element names in the document's
 * dictionary, so twenty goods lines share their field names' pointers. Reset at the start of each call. */
typedef struct { const xmlChar *name; int index; } NameSlot;
#define NAME_SLOTS 512
static NameSlot head_slots[NAME_SLOTS], item_slots[NAME_SLOTS];

static int cached_index(NameSlot *slots, const char *const *names, int count, const xmlChar *name) {
    size_t h = (size_t)(((uint64_t)(uintptr_t)name * 0x9E3779B97F4A7C15ull) >> 55);     /* 9 bits */
    for (int probe = 0; probe < NAME_SLOTS; probe++, h = (h + 1) & (NAME_SLOTS - 1)) {
        if (slots[h].name == name) return slots[h].index;
        if (slots[h].name == NULL) {
            slots[h].name = name;
            return slots[h].index = name_index(names, count, (const char *)name);
        }
    }
    return name_index(names, count, (const char *)name);     /* table full: names not shared */
}

/* -- Python's str.strip() and friends on UTF-8 ------------------------------------------------------------ */
/* bytes of the white-space character (str.isspace) starting at s, or 0 */
static size_t space_at(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0xc2 && n >= 2 && (s[1] == 0x85 || s[1] == 0xa0)) return 2;                  /* U+0085 U+00A0 */
    if (n >= 3) {
        if (c == 0xe1 && s[1] == 0x9a && s[2] == 0x80) return 3;                          /* U+1680 */
        if (c == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 ||
                                          s[2] == 0xaf)) return 3;                       /* U+2000-200A 2028 2029 202F */
        if (c == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) return 3;                          /* U+205F */
        if (c == 0xe3 && s[1] == 0x80 && s[2] == 0x80) return 3;                          /* U+3000 */
    }
    return 0;
}

static Str strip(Str v) {
    if (v.s == NULL) return v;
    const unsigned char *s = v.s, *e = v.s + v.n;
    size_t k;
    while (s < e && (k = space_at(s, (size_t)(e - s))) > 0) s += k;
    while (e > s) {
        const unsigned char *p = e - 1;
        while (p > s && (*p & 0xc0) == 0x80 && e - p < 4) p--;   /* start of the last character */
        k = space_at(p, (size_t)(e - p));
        if (k == 0 || p + k != e) break;
        e = p;
    }
    Str out = {s, (size_t)(e - s)};
    if (out.n == 0) out.s = NULL;
    return out;
}

static int ascii(Str v) {
    for (size_t i = 0; i < v.n; i++)
        if (v.s[i] >= 0x80) return 0;
    return 1;
}

static int eq(Str v, const char *lit) {
    size_t n = strlen(lit);
    return v.n == n && (n == 0 || memcmp(v.s, lit, n) == 0);
}

static int all_digits(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* A number as float() reads it: 1 parsed (finite), 0 blank (the rules' None), -1 suspect (any other form,
 * which float() or Decimal() might still read: exponents, underscores, inf, non-ASCII digits, ...). The
 * grammar accepted: [+-]? digits [. digits*] | [+-]? . digits */
static int number(Str raw, double *out) {
    static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
                                   1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    Str v = strip(raw);
    if (v.s == NULL) return 0;
    if (v.n > 60) return -1;
    /* the digits as an integer mantissa m and the count k of those after the point */
    uint64_t m = 0;
    size_t i = (v.s[0] == '+' || v.s[0] == '-'), digits = 0, k = 0;
    int point = 0, exact = 1;
    for (; i < v.n; i++) {
        if (v.s[i] == '.' && !point) { point = 1; continue; }
        if (v.s[i] < '0' || v.s[i] > '9') return -1;
        digits++;
        k += point;
        if (exact) {
            m = m * 10 + (uint64_t)(v.s[i] - '0');
            exact = m < ((uint64_t)1 << 53) && k <= 22;
        }
    }
    if (digits == 0) return -1;
    /* Clinger's fast path: m < 2^53 and k <= 22 make m / 10^k one correctly rounded IEEE division of two exact
     * values, i.e. exactly what float() returns */
    if (exact) {
        double d = (double)m / POW10[k];
        *out = v.s[0] == '-' ? -d : d;
        return 1;
    }
    char buf[64];
    memcpy(buf, v.s, v.n);
    buf[v.n] = '\0';
    double d = PyOS_string_to_double(buf, NULL, NULL);
    if (d == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return -1; }
    if (!isfinite(d)) return -1;
    *out = d;
    return 1;
}

/* half a unit in the last written decimal place (prc.half_unit), on a stripped ASCII value */
static double half_unit(Str v) {
    for (size_t i = 0; i < v.n; i++)
        if (v.s[i] == '.') return 0.5 * pow(10.0, -(double)(v.n - i - 1));
    return 0.5;
}

static int days_in_month(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* prc.parse_date: YYYYMMDD or YYYY-MM-DD as y*10000+m*100+d when a calendar date, else -1 (ASCII input) */
static long parse_date(Str v) {
    unsigned char buf[16];
    size_t n = 0;
    if (v.n > 10) return -1;
    if (v.n == 10 && v.s[4] == '-' && v.s[7] == '-') {
        for (size_t i = 0; i < v.n; i++)
            if (v.s[i] != '-') buf[n++] = v.s[i];
    } else {
        memcpy(buf, v.s, v.n);
        n = v.n;
    }
    if (n != 8 || !all_digits(buf, 8)) return -1;
    int y = (buf[0] - '0') * 1000 + (buf[1] - '0') * 100 + (buf[2] - '0') * 10 + (buf[3] - '0');
    int m = (buf[4] - '0') * 10 + (buf[5] - '0');
    int d = (buf[6] - '0') * 10 + (buf[7] - '0');
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return -1;
    return (long)y * 10000 + m * 100 + d;
}

/* prc._looks_like_date (ASCII input) */
static int looks_like_date(Str v) {
    if (v.n == 8) return all_digits(v.s, 8);
    return v.n == 10 && v.s[4] == '-' && v.s[7] == '-' && all_digits(v.s, 4) && all_digits(v.s + 5, 2) &&
           all_digits(v.s + 8, 2);
}

/* prc._number_problem != None, for a stripped ASCII value */
static int number_problem(Str v) {
    if (v.n != 18 || !all_digits(v.s, 4) || !all_digits(v.s + 4, 4)) return 1;
    int year = (v.s[4] - '0') * 1000 + (v.s[5] - '0') * 100 + (v.s[6] - '0') * 10 + (v.s[7] - '0');
    if (year < 1980 || year > 2099) return 1;
    if (!strchr("01IE", v.s[8]) || v.s[8] == '\0') return 1;
    return !all_digits(v.s + 9, 9);
}

/* a goods-line number written plainly (1-9 digits, no leading zero, no blanks), else 0 */
static size_t line_number(const unsigned char *s, size_t n) {
    if (n == 0 || n > 9 || s[0] == '0' || !all_digits(s, n)) return 0;
    size_t num = 0;
    for (size_t i = 0; i < n; i++) num = num * 10 + (size_t)(s[i] - '0');
    return num;
}

/* a TradeMode / DutyMode value in one of the Python sets the screen was made with: 1, 0, or -1 on error */
static int in_set(PyObject *set, Str v) {
    PyObject *s = PyUnicode_DecodeUTF8(v.s ? (const char *)v.s : "", (Py_ssize_t)v.n, "strict");
    if (s == NULL) { PyErr_Clear(); return -1; }
    int found = PySet_Contains(set, s);
    Py_DECREF(s);
    if (found < 0) { PyErr_Clear(); return -1; }
    return found;
}

/* UTF-8 of the characters the temporary-import notes are searched for */
#define ZAN "\xe6\x9a\x82"      /* 暂 */
#define JIN "\xe8\xbf\x9b"      /* 进 */
#define CHU "\xe5\x87\xba"      /* 出 */
#define QIAN_FU_YUN "\xe5\x89\x8d\xe5\xa4\x8d\xe8\xbf\x90"   /* 前复运 */
#define JING "\xe5\xa2\x83"     /* 境 */
static const char *const CN_NUMERALS[] = {
    "\xe4\xb8\x80", "\xe4\xba\x8c", "\xe4\xb8\x89", "\xe5\x9b\x9b", "\xe4\xba\x94",   /* 一二三四五 */
    "\xe5\x85\xad", "\xe4\xb8\x83", "\xe5\x85\xab", "\xe4\xb9\x9d", "\xe5\x8d\x81", NULL};   /* 六七八九十 */

static int starts(const unsigned char *s, const unsigned char *e, const char *lit) {
    size_t n = strlen(lit);
    return s <= e && (size_t)(e - s) >= n && memcmp(s, lit, n) == 0;
}

/* prc-temporary-notes and prc-temporary-return-date for a 2600 / 2700 declaration: NoteS with its spaces
 * removed holds 暂[进出][一..十]+ and ([0-9]{8})前复运[进出]境 (the first such date), a calendar date within six
 * months after IEDate (when IEDate is a date). 1 clear, 0 suspect. */
static int temporary_notes_ok(Str notes, Str ie_date) {
    unsigned char buf[2048];
    size_t n = 0;
    if (notes.s == NULL || notes.n > sizeof buf) return 0;
    for (size_t i = 0; i < notes.n; i++)
        if (notes.s[i] != ' ') buf[n++] = notes.s[i];
    const unsigned char *e = buf + n;
    int category = 0;
    long deadline = -2;
    for (const unsigned char *p = buf; p < e; p++) {
        if (!category && starts(p, e, ZAN) && (starts(p + 3, e, JIN) || starts(p + 3, e, CHU))) {
            for (int k = 0; CN_NUMERALS[k] != NULL; k++)
                if (starts(p + 6, e, CN_NUMERALS[k])) category = 1;
        }
        if (deadline == -2 && p - buf >= 8 && starts(p, e, QIAN_FU_YUN) &&
            (starts(p + 9, e, JIN) || starts(p + 9, e, CHU)) && starts(p + 12, e, JING) && all_digits(p - 8, 8)) {
            Str date = {p - 8, 8};
            deadline = parse_date(date);
        }
    }
    if (!category || deadline < 0) return 0;
    if (ie_date.s == NULL || !ascii(ie_date)) return ie_date.s == NULL;
    long ie = parse_date(ie_date);
    if (ie < 0) return 1;            /* without an import/export date only the deadline itself is checked */
    int y = (int)(ie / 10000), m = (int)(ie / 100 % 100) + 6, d = (int)(ie % 100);
    y += (m - 1) / 12;
    m = (m - 1) % 12 + 1;
    if (d > days_in_month(y, m)) d = days_in_month(y, m);
    long limit = (long)y * 10000 + m * 100 + d;
    return deadline >= ie && deadline <= limit;
}

/* -- the screen --------------------------------------------------------------------------------------------- */
typedef struct { Str f[NI]; } Item;

#define SUSPECT do { ok = 0; goto done; } while (0)

/* the country rule for one stripped value: 1 clear, 0 suspect */
static int country_ok(const ScreenObject *self, Str v) {
    if (v.s == NULL) return 1;
    if (!ascii(v)) return 0;
    if (v.n != 3) return 1;
    for (int i = 0; i < 3; i++)
        if (v.s[i] < 'A' || v.s[i] > 'Z') return 1;     /* not three capitals: the XSD's to report */
    int k = (v.s[0] - 'A') * 676 + (v.s[1] - 'A') * 26 + (v.s[2] - 'A');
    return (self->countries[k >> 3] >> (k & 7)) & 1;
}

/* Decimal comparison of two values number() accepted ([+-] digits [. digits] | [+-] . digits): -1, 0, 1 */
typedef struct { int negative; const unsigned char *whole, *fraction; size_t n_whole, n_fraction; } Plain;

static Plain plain(Str v) {
    Plain p = {0, NULL, NULL, 0, 0};
    size_t i = 0;
    if (v.n > 0 && (v.s[0] == '+' || v.s[0] == '-')) p.negative = v.s[i++] == '-';
    while (i < v.n && v.s[i] == '0') i++;                  /* leading zeros */
    p.whole = v.s + i;
    while (i < v.n && v.s[i] != '.') i++;
    p.n_whole = (size_t)(v.s + i - p.whole);
    if (i < v.n) i++;                                      /* the point */
    p.fraction = v.s + i;
    p.n_fraction = v.n - i;
    while (p.n_fraction > 0 && p.fraction[p.n_fraction - 1] == '0') p.n_fraction--;   /* trailing zeros */
    if (p.n_whole == 0 && p.n_fraction == 0) p.negative = 0;                       /* -0 is 0 */
    return p;
}

static int magnitude_cmp(Plain a, Plain b) {
    if (a.n_whole != b.n_whole) return a.n_whole < b.n_whole ? -1 : 1;
    int c = a.n_whole ? memcmp(a.whole, b.whole, a.n_whole) : 0;
    if (c != 0) return c < 0 ? -1 : 1;
    for (size_t i = 0; i < a.n_fraction || i < b.n_fraction; i++) {
        unsigned char x = i < a.n_fraction ? a.fraction[i] : '0', y = i < b.n_fraction ? b.fraction[i] : '0';
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

static int decimal_cmp(Str a, Str b) {
    Plain x = plain(strip(a)), y = plain(strip(b));
    if (x.negative != y.negative) return x.negative ? -1 : 1;
    int c = magnitude_cmp(x, y);
    return x.negative ? -c : c;
}

/* quantities_and_units' zero test on a raw quantity */
static int is_zero_quantity(Str raw) {
    if (raw.s == NULL || (raw.s[0] >= '1' && raw.s[0] <= '9')) return 0;
    Str v = strip(raw);
    if (v.s == NULL) return 0;
    const unsigned char *s = v.s, *e = v.s + v.n;
    while (s < e && *s == '0') s++;
    while (e > s && e[-1] == '0') e--;
    while (s < e && *s == '.') s++;
    while (e > s && e[-1] == '.') e--;
    while (s < e && *s == '0') s++;
    while (e > s && e[-1] == '0') e--;
    return s == e;
}

/* XPath normalize-space(x) != "" for a raw value */
static int xpath_nonblank(Str raw) {
    for (size_t i = 0; i < raw.n; i++) {
        unsigned char c = raw.s[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return 1;
    }
    return 0;
}

/* one DocuCode / GoodsNo element's stripped text: 1 read, 0 suspect */
static int stripped_leaf(const xmlNode *el, Str *out) {
    if (el == NULL) { out->s = NULL; out->n = 0; return 1; }
    if (!leaf(el, out)) return 0;
    *out = strip(*out);
    return 1;
}

/* GoodsNo lists of the DecContainers subtree (any depth, as lxml's iter() finds them): 1 clear, 0 suspect */
static int goods_numbers_ok(const xmlNode *n, size_t n_items) {
    size_t plain = n_items < 999 ? n_items : 999;
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_dec(c, "GoodsNo")) {
            Str v;
            if (!stripped_leaf(c, &v) || !ascii(v)) return 0;
            if (v.s == NULL) continue;
            size_t i = 0;
            while (i <= v.n) {
                size_t j = i;
                while (j < v.n && v.s[j] != ',') j++;
                /* each part: a line number 1..plain as written */
                size_t num = line_number(v.s + i, j - i);
                if (num < 1 || num > plain) return 0;
                i = j + 1;
            }
        }
        if (c->children != NULL && !goods_numbers_ok(c, n_items)) return 0;
    }
    return 1;
}

/* 1 clear, 0 suspect, -1 error (exception set) */
static int screen(ScreenObject *self, const xmlNode *root) {
    int ok = 1;
    Item *items = NULL;
    size_t n_items = 0;
    const xmlNode *group[NGROUPS] = {NULL};
    int count[NGROUPS] = {0}, signatures = 0;

    dec_ns_seen = NULL;
    memset(head_slots, 0, sizeof head_slots);
    memset(item_slots, 0, sizeof item_slots);
    if (!is_dec(root, "DecMessage")) return 0;

    /* prc-group-count */
    for (const xmlNode *c = root->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_ns(c, DS_NS) && strcmp((const char *)c->name, "Signature") == 0) {
            if (++signatures > 1) return 0;
        } else if (is_ns(c, DEC_NS)) {
            for (int g = 0; GROUPS[g] != NULL; g++)
                if (strcmp((const char *)c->name, GROUPS[g]) == 0) {
                    if (++count[g] > 1) return 0;
                    group[g] = c;
                    break;
                }
        }
    }
    if (count[G_HEAD] != 1 || count[G_LISTS] != 1) return 0;

    /* the header's fields: each at most once, each a plain text value */
    Str head[NH];
    memset(head, 0, sizeof head);
    unsigned char seen[NH] = {0};
    for (const xmlNode *c = group[G_HEAD]->children; c != NULL; c = c->next) {
        if (!is_ns(c, DEC_NS)) continue;
        int k = cached_index(head_slots, HEAD_NAMES, NH, c->name);
        if (k < 0) continue;
        if (seen[k]++ || !stripped_leaf(c, &head[k])) return 0;
    }

    /* the goods lines: DecLists holds DecList elements only, each of plain fields, each at most once */
    for (const xmlNode *c = group[G_LISTS]->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (!is_dec(c, "DecList")) return 0;
        n_items++;
    }
    items = PyMem_Calloc(n_items ? n_items : 1, sizeof(Item));
    if (items == NULL) { PyErr_NoMemory(); return -1; }
    {
        size_t i = 0;
        for (const xmlNode *c = group[G_LISTS]->children; c != NULL; c = c->next) {
            if (c->type != XML_ELEMENT_NODE) continue;
            unsigned char iseen[NI] = {0};
            for (const xmlNode *f = c->children; f != NULL; f = f->next) {
                if (f->type != XML_ELEMENT_NODE) continue;
                if (has_element_child(f)) SUSPECT;
                if (!is_ns(f, DEC_NS)) continue;
                int k = cached_index(item_slots, ITEM_NAMES, NI, f->name);
                if (k < 0) continue;
                if (iseen[k]++ || !leaf(f, &items[i].f[k])) SUSPECT;
            }
            i++;
        }
    }

    const Str flag = head[H_IEFlag];
    const int imp = eq(flag, "I"), exp = eq(flag, "E");

    /* prc-pre-entry-id, prc-entry-id, prc-ie-flag-mismatch, prc-number-customs-mismatch, prc-consolidated-bill */
    {
        Str master = head[H_CustomMaster];
        if (!ascii(master)) SUSPECT;
        const int numbers[2] = {H_PreEntryId, H_EntryId};
        for (int j = 0; j < 2; j++) {
            Str v = head[numbers[j]];
            if (v.s == NULL) continue;
            if (!ascii(v)) SUSPECT;
            if (v.n > 8 && (v.s[8] == 'I' || v.s[8] == 'E')) SUSPECT;     /* consolidated declaration */
            if (v.n > 18) continue;                                         /* the XSD's length error */
            if (number_problem(v)) SUSPECT;
            if (imp || exp) {
                char said = (v.s[8] == '1' || v.s[8] == 'I') ? 'I' : 'E';
                if (said != (imp ? 'I' : 'E')) SUSPECT;
            }
            if (master.n == 4 && memcmp(v.s, master.s, 4) != 0) SUSPECT;
        }
    }

    /* prc-date-invalid (header), prc-date-order, prc-export-ie-date */
    {
        const int dates[4] = {H_IEDate, H_DDate, H_DespDate, H_CmplDschrgDt};
        for (int j = 0; j < 4; j++) {
            Str v = head[dates[j]];
            if (v.s == NULL) continue;
            if (!ascii(v)) SUSPECT;
            if ((v.n == 8 || v.n == 10) && parse_date(v) < 0 && looks_like_date(v)) SUSPECT;
        }
        long ie = head[H_IEDate].s ? parse_date(head[H_IEDate]) : -1;
        long d = head[H_DDate].s ? parse_date(head[H_DDate]) : -1;
        Str mode = head[H_TrafMode];
        int no_crossing = mode.n == 1 && strchr("0178HTWXYZ", mode.s[0]) != NULL;
        if (ie >= 0 && d >= 0) {
            if (no_crossing) { if (ie != d) SUSPECT; }
            else if (exp && ie < d) SUSPECT;
        }
        if (exp && head[H_IEDate].s != NULL && head[H_EntryId].s == NULL) SUSPECT;

        /* prc-no-crossing */
        if (no_crossing) {
            if (head[H_TrafName].s || head[H_BillNo].s) SUSPECT;
            if (head[H_TradeCountry].s && !eq(head[H_TradeCountry], "CHN")) SUSPECT;
            if ((imp || exp) && head[H_TransMode].s && !eq(head[H_TransMode], imp ? "1" : "3")) SUSPECT;
        }
    }

    /* prc-gross-lt-net, prc-weight-below-one, prc-items-net-gt-gross */
    double gross = 0, net = 0;
    int has_gross = number(head[H_GrossWet], &gross), has_net = number(head[H_NetWt], &net);
    if (has_gross < 0 || has_net < 0) SUSPECT;
    static const Str ONE = {(const unsigned char *)"1", 1};
    if (has_gross && has_net && decimal_cmp(head[H_GrossWet], head[H_NetWt]) < 0) SUSPECT;
    if (has_gross && decimal_cmp(head[H_GrossWet], ONE) < 0) SUSPECT;
    if (has_net && decimal_cmp(head[H_NetWt], ONE) < 0) SUSPECT;
    if (has_gross) {
        const double limit = gross * (1 + 1e-12);
        const double margin = limit - fabs(limit) * 1e-9;
        static const int pairs[3][2] = {{I_FirstQty, I_FirstUnit}, {I_SecondQty, I_SecondUnit}, {I_GQty, I_GUnit}};
        double total = 0.0;
        for (size_t i = 0; i < n_items; i++) {
            for (int j = 0; j < 3; j++) {
                Str unit = items[i].f[pairs[j][1]];
                if (unit.s == NULL) continue;
                unit = strip(unit);
                double factor;
                if (eq(unit, "035")) factor = 1.0;
                else if (eq(unit, "036")) factor = 0.001;
                else if (eq(unit, "070")) factor = 1000.0;
                else continue;
                double qty;
                int has = number(items[i].f[pairs[j][0]], &qty);
                if (has < 0) SUSPECT;
                if (has) {
                    total += qty * factor;
                    if (!(total <= margin)) SUSPECT;
                }
                break;
            }
        }
    }

    /* the goods lines */
    for (size_t i = 0; i < n_items; i++) {
        Str *f = items[i].f;
        /* prc-gno-sequence: written exactly as its line number */
        if (f[I_GNo].s == NULL || line_number(f[I_GNo].s, f[I_GNo].n) != i + 1) SUSPECT;

        /* prc-date-invalid (ProdValidDt) */
        Str pv = strip(f[I_ProdValidDt]);
        if (pv.s != NULL) {
            if (!ascii(pv)) SUSPECT;
            if (parse_date(pv) < 0 && looks_like_date(pv)) SUSPECT;
        }

        /* prc-total-mismatch */
        if (f[I_DeclPrice].s && f[I_GQty].s && f[I_DeclTotal].s) {
            double price, qty, total;
            int a = number(f[I_DeclPrice], &price), b = number(f[I_GQty], &qty), c = number(f[I_DeclTotal], &total);
            if (a < 0 || b < 0 || c < 0) SUSPECT;
            if (a && b && c && !(fabs(price * qty - total) <= 1e-9)) {
                double tolerance = half_unit(strip(f[I_DeclPrice])) * fabs(qty) + half_unit(strip(f[I_DeclTotal]));
                double bound = tolerance * (1 + 1e-9) + 1e-9;
                if (!(fabs(price * qty - total) <= bound * (1 - 1e-6))) SUSPECT;
            }
        }

        /* prc-quantity-unit */
        if ((strip(f[I_SecondQty]).s != NULL) != (strip(f[I_SecondUnit]).s != NULL)) SUSPECT;
        if (is_zero_quantity(f[I_GQty]) || is_zero_quantity(f[I_FirstQty]) || is_zero_quantity(f[I_SecondQty]))
            SUSPECT;

        /* prc-hs-note-required */
        Str hs = strip(f[I_CodeTS]);
        if (eq(hs, "3821000000") || eq(hs, "3002300000")) SUSPECT;

        /* prc-country-code (goods lines) */
        if (!country_ok(self, strip(f[I_OriginCountry])) || !country_ok(self, strip(f[I_DestinationCountry])))
            SUSPECT;

        /* prc-import-dest-code */
        if (imp && (f[I_DestCode].s == NULL || !xpath_nonblank(f[I_DestCode]))) SUSPECT;
    }

    /* prc-container-goods, prc-container-weight */
    if (group[G_CONTAINERS] != NULL) {
        if (!goods_numbers_ok(group[G_CONTAINERS], n_items)) SUSPECT;
        for (const xmlNode *c = group[G_CONTAINERS]->children; c != NULL; c = c->next) {
            if (!is_dec(c, "Container")) continue;
            Str t, w;
            if (!stripped_leaf(first_dec_child(c, "GoodsContaWt"), &t) ||
                !stripped_leaf(first_dec_child(c, "ContainerWt"), &w)) SUSPECT;
            double total, tare;
            int a = number(t, &total), b = number(w, &tare);
            if (a < 0 || b < 0) SUSPECT;
            if (a && b && total < tare) SUSPECT;
        }
    }

    /* prc-charge-incomplete */
    {
        static const int charges[3][3] = {{H_FeeMark, H_FeeRate, H_FeeCurr}, {H_InsurMark, H_InsurRate, H_InsurCurr},
                                          {H_OtherMark, H_OtherRate, H_OtherCurr}};
        for (int j = 0; j < 3; j++) {
            Str mark = head[charges[j][0]], rate = head[charges[j][1]], curr = head[charges[j][2]];
            if ((mark.s != NULL) != (rate.s != NULL)) SUSPECT;
            if ((eq(mark, "2") || eq(mark, "3")) && rate.s != NULL && curr.s == NULL) SUSPECT;
        }
    }

    /* prc-one-bill */
    {
        Str bill = head[H_BillNo];
        if (bill.s != NULL) {
            if (!ascii(bill)) SUSPECT;
            size_t stars = 0, unders = 0;
            for (size_t i = 0; i < bill.n; i++) {
                unsigned char c = bill.s[i];
                if (c == ',' || c == ';' || c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
                    SUSPECT;
                stars += c == '*';
                unders += c == '_';
            }
            if (stars > 1 || unders > 1 || (stars && unders)) SUSPECT;
        }
    }

    /* prc-transit-traf-name */
    if (head[H_TrafName].s != NULL && head[H_TrafName].s[0] == '@') SUSPECT;

    /* prc-temporary-notes, prc-temporary-return-date */
    if ((eq(head[H_TradeMode], "2600") || eq(head[H_TradeMode], "2700")) &&
        !temporary_notes_ok(head[H_NoteS], head[H_IEDate])) SUSPECT;

    /* prc-marks-missing */
    if (head[H_MarkNo].s == NULL) SUSPECT;

    /* prc-party-code */
    if (head[H_TradeName].s && !head[H_TradeCoScc].s && !head[H_TradeCodeScc].s && !head[H_TradeCode].s) SUSPECT;
    if (head[H_OwnerName].s && !head[H_OwnerCodeScc].s && !head[H_OwnerCode].s) SUSPECT;
    if (head[H_AgentName].s && !head[H_AgentCodeScc].s && !head[H_AgentCode].s) SUSPECT;

    /* prc-overseas-party */
    if (imp && !head[H_OverseasConsignorEname].s && !head[H_OverseasConsignorCname].s) SUSPECT;
    if (exp && !head[H_OverseasConsigneeEname].s) SUSPECT;

    /* prc-promise-items */
    {
        Str v = head[H_PromiseItmes];
        if (!ascii(v)) SUSPECT;
        if (v.n == 3) {
            for (int i = 0; i < 3; i++)
                if (!self->promise[v.s[i]]) SUSPECT;
            if (exp && !eq(v, "999")) SUSPECT;
        }
    }

    /* prc-import-only-field */
    if (exp && head[H_DespPortCode].s != NULL) SUSPECT;

    /* prc-processing-duty-mode */
    {
        int processing = in_set(self->processing_modes, head[H_TradeMode]);
        if (processing < 0) SUSPECT;
        if (processing)
            for (size_t i = 0; i < n_items; i++) {
                Str duty = strip(items[i].f[I_DutyMode]);
                if (duty.s == NULL) continue;
                if (in_set(self->levy_as, duty) != 0) SUSPECT;
            }
    }

    /* prc-country-code (header) */
    if (!country_ok(self, head[H_TradeCountry]) || !country_ok(self, head[H_TradeAreaCode])) SUSPECT;

    /* prc-origin-proof: at most one origin proof (document code Y); its CertCode matches
     * [<(]?([0-9]{2})[>)]?([CD])?([0-9A-Za-z\-/]+) with a trade-agreement code in group 1 */
    if (group[G_DOCUS] != NULL) {
        int proofs = 0;
        for (const xmlNode *d = group[G_DOCUS]->children; d != NULL; d = d->next) {
            if (!is_dec(d, "LicenseDocu")) continue;
            Str code, cert;
            if (!stripped_leaf(first_dec_child(d, "DocuCode"), &code)) SUSPECT;
            if (!eq(code, "Y")) continue;
            if (++proofs > 1 || !stripped_leaf(first_dec_child(d, "CertCode"), &cert) || !ascii(cert)) SUSPECT;
            size_t i = 0;
            if (i < cert.n && (cert.s[i] == '<' || cert.s[i] == '(')) i++;
            if (i + 2 > cert.n || !all_digits(cert.s + i, 2)) SUSPECT;
            int agreement = (cert.s[i] - '0') * 10 + (cert.s[i + 1] - '0');
            i += 2;
            if (i < cert.n && (cert.s[i] == '>' || cert.s[i] == ')')) i++;
            if (i >= cert.n) SUSPECT;          /* ([CD])? may take nothing, the class needs one character */
            for (; i < cert.n; i++) {
                unsigned char c = cert.s[i];
                if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
                      c == '/')) SUSPECT;
            }
            if (!self->agreements[agreement]) SUSPECT;
        }
    }

done:
    PyMem_Free(items);
    return ok;
}

/* -- the Python type ------------------------------------------------------------------------------------------ */
static PyObject *Screen_call(ScreenObject *self, PyObject *args, PyObject *kwargs) {
    PyObject *root;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) > 0) {
        PyErr_SetString(PyExc_TypeError, "the screen takes one positional argument");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O:Screen", &root)) return NULL;
    if (!PyObject_TypeCheck(root, ElementType)) {
        PyErr_SetString(PyExc_TypeError, "the screen takes an lxml element (the document's root)");
        return NULL;
    }
    const xmlNode *node = ((LxmlElement *)root)->_c_node;
    if (node == NULL) Py_RETURN_FALSE;
    int r = screen(self, node);
    if (r < 0) return NULL;
    return PyBool_FromLong(r);
}

/* the code tables the screen is made with: each table's codes of the one form the rules can meet */
typedef void (*take_code)(ScreenObject *self, const char *s, Py_ssize_t n);

static void take_country(ScreenObject *self, const char *s, Py_ssize_t n) {
    if (n != 3) return;
    for (int i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z') return;
    int k = (s[0] - 'A') * 676 + (s[1] - 'A') * 26 + (s[2] - 'A');
    self->countries[k >> 3] |= (unsigned char)(1 << (k & 7));
}

static void take_promise(ScreenObject *self, const char *s, Py_ssize_t n) {
    if (n == 1 && (unsigned char)s[0] < 128 && s[0] != '\0') self->promise[(unsigned char)s[0]] = 1;
}

static void take_agreement(ScreenObject *self, const char *s, Py_ssize_t n) {
    if (n == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9')
        self->agreements[(s[0] - '0') * 10 + (s[1] - '0')] = 1;
}

static int each_code(ScreenObject *self, PyObject *codes, take_code take) {
    PyObject *it = PyObject_GetIter(codes), *code;
    if (it == NULL) return -1;
    while ((code = PyIter_Next(it)) != NULL) {
        Py_ssize_t n = 0;
        const char *s = PyUnicode_Check(code) ? PyUnicode_AsUTF8AndSize(code, &n) : NULL;
        if (s != NULL) take(self, s, n);
        Py_DECREF(code);
        if (PyErr_Occurred()) { Py_DECREF(it); return -1; }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

static int Screen_init(ScreenObject *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"countries", "promise", "agreements", "processing_modes", "levy_as", NULL};
    PyObject *countries, *promise, *agreements, *processing, *levy;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOO", kw, &countries, &promise, &agreements, &processing,
                                     &levy))
        return -1;
    memset(self->countries, 0, sizeof self->countries);
    memset(self->promise, 0, sizeof self->promise);
    memset(self->agreements, 0, sizeof self->agreements);
    if (each_code(self, countries, take_country) < 0 || each_code(self, promise, take_promise) < 0 ||
        each_code(self, agreements, take_agreement) < 0)
        return -1;
    PyObject *p = PyFrozenSet_New(processing), *l = PyFrozenSet_New(levy);
    if (p == NULL || l == NULL) { Py_XDECREF(p); Py_XDECREF(l); return -1; }
    Py_XSETREF(self->processing_modes, p);
    Py_XSETREF(self->levy_as, l);
    return 0;
}

static void Screen_dealloc(ScreenObject *self) {
    Py_XDECREF(self->processing_modes);
    Py_XDECREF(self->levy_as);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject ScreenType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "translator.rules._prcscreen.Screen",
    .tp_basicsize = sizeof(ScreenObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Screen(countries, promise, agreements, processing_modes, levy_as)(root) -> True when no covered PRC rule can "
              "report anything on this XSD-valid DecMessage, False when the rules must run.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Screen_init,
    .tp_dealloc = (destructor)Screen_dealloc,
    .tp_call = (ternaryfunc)Screen_call,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_prcscreen",
    "The PRC DecMessage rule screen in C (see translator/rules/prc.py, prc_screen).", -1, NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__prcscreen(void) {
    for (int i = 1; i < NH; i++)
        if (strcmp(HEAD_NAMES[i - 1], HEAD_NAMES[i]) >= 0) {
            PyErr_SetString(PyExc_ImportError, "_prcscreen: HEAD_NAMES is not sorted");
            return NULL;
        }
    for (int i = 1; i < NI; i++)
        if (strcmp(ITEM_NAMES[i - 1], ITEM_NAMES[i]) >= 0) {
            PyErr_SetString(PyExc_ImportError, "_prcscreen: ITEM_NAMES is not sorted");
            return NULL;
        }
    ElementType = lxml_element_type();
    if (ElementType == NULL) return NULL;
    if (PyType_Ready(&ScreenType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&ScreenType);
    if (PyModule_AddObject(m, "Screen", (PyObject *)&ScreenType) < 0) { Py_DECREF(m); return NULL; }
    Py_ssize_t n_covers = 0;
    while (COVERS[n_covers] != NULL) n_covers++;
    PyObject *covers = PyTuple_New(n_covers);
    if (covers == NULL) { Py_DECREF(m); return NULL; }
    for (Py_ssize_t i = 0; i < n_covers; i++) {
        PyObject *s = PyUnicode_FromString(COVERS[i]);
        if (s == NULL) { Py_DECREF(covers); Py_DECREF(m); return NULL; }
        PyTuple_SET_ITEM(covers, i, s);
    }
    if (PyModule_AddObject(m, "COVERS", covers) < 0) { Py_DECREF(covers); Py_DECREF(m); return NULL; }
    return m;
}
