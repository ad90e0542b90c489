"""Time-bounded fuzzing of edihub's input surfaces; reports crashes (an exception that is not the documented error
type of the target) with the input that caused it.

    .venv/bin/python tools/fuzz.py --minutes 5                 # every target, time shared
    .venv/bin/python tools/fuzz.py --minutes 2 --target soap   # one target
    .venv/bin/python tools/fuzz.py --list

Uses atheris (coverage-guided) when it is importable, else hypothesis (random + shrinking). Crashing inputs are
written to --out (default test-artifacts/fuzz/) as <target>-<n>.bin. Exit code 0: no crash, 1: crashes found.

The targets are plain functions `(data: bytes) -> None` that raise `Crash` only for undocumented exceptions; the
normal suite uses the same functions (tests/hostile/test_properties.py).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE_FILES = sorted(p for fam in ("prc", "vnaccs", "siveca", "iran") for p in (ROOT / "samples" / fam).glob("*.xml"))
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
HUB = "urn:edihub:hub:1"


class Crash(AssertionError):
    """The target raised something other than its documented error type, or answered out of contract."""


def samples() -> list[bytes]:
    return [p.read_bytes() for p in SAMPLE_FILES]


# -- targets ---------------------------------------------------------------------------------------------------
def target_parse(data: bytes) -> None:
    from translator.parsing import ParseError, parse
    try:
        parse(data)
    except ParseError as e:
        if not e.code or not e.message:
            raise Crash(f"ParseError without code/message: {e!r}") from None


def target_validate(data: bytes) -> None:
    """The validator answers every input with a report; it never raises for bad input."""
    from translator.validate import default_validator
    report, tree = default_validator().validate_bytes(data, None)
    if report.valid and tree is None:
        raise Crash("valid report without a tree")
    for i in report.issues:
        if not i.code or not i.message:
            raise Crash(f"issue without code/message: {i!r}")


def target_translate(data: bytes) -> None:
    """Documents that validate are translated to every target of their format: TranslationError or a valid result."""
    from translator.translate import TranslationError, targets_for, translate
    from translator.validate import default_validator
    v = default_validator()
    report, tree = v.validate_bytes(data, None)
    if not report.valid:
        return
    src = f"{report.format}" if ":" in (report.format or "") else f"{report.format}:{report.to_dict().get('message_type')}"
    for target in targets_for(src):
        try:
            res = translate(tree, target)
        except TranslationError as e:
            if not e.message:
                raise Crash(f"TranslationError without message: {e!r}") from None
            continue
        if not res.documents:
            raise Crash(f"translation to {target} returned no document")


def target_response(data: bytes) -> None:
    from routing.responses import ResponseError, parse_response
    for fam in (None, "prc", "vnaccs", "siveca", "iran"):
        try:
            parse_response(data, fam)
        except ResponseError as e:
            if not e.args:
                raise Crash("ResponseError without message") from None


def target_envelope(data: bytes) -> None:
    from soap.envelope import Fault, read_request
    from translator.parsing import DEFAULT_LIMITS
    for ct in ("text/xml", "application/soap+xml; charset=utf-8", None, "application/json"):
        try:
            read_request(data, ct, DEFAULT_LIMITS)
        except Fault as f:
            if not f.code or not f.message:
                raise Crash(f"Fault without code/message: {f!r}") from None


_RUNTIME = None


def soap_runtime():
    """A hub runtime without network: a temporary SQLite store, one token partner, no routes, no worker."""
    global _RUNTIME
    if _RUNTIME is None:
        from routing.config import load_config
        from routing.runtime import build_runtime
        tmp = Path(tempfile.mkdtemp(prefix="edihub-fuzz-"))
        env = {"FUZZ_TOKEN": "fuzz-token-0123456789"}
        text = f"""
[server]
max_body_bytes = 1000000
[store]
url = "sqlite:///{tmp / 'fuzz.db'}"
synchronous = "NORMAL"
[partners.fuzz]
token_env = "FUZZ_TOKEN"
may_send = ["vnaccs:IDA", "prc:DecMessage", "siveca:Registration"]
"""
        cfg = load_config(tmp, text=text, env=env)
        _RUNTIME = build_runtime(cfg, with_worker=False)
    return _RUNTIME


def target_soap(data: bytes) -> None:
    """The SOAP dispatcher answers every input with a 200 answer or a fault; never an internal error."""
    from lxml import etree
    from soap.service import SoapService
    rt = soap_runtime()
    svc = getattr(rt, "_fuzz_soap", None)
    if svc is None:
        svc = rt._fuzz_soap = SoapService(rt)
    for ct in ("text/xml", "application/soap+xml"):
        status, media, body = svc.handle(data, ct, "Bearer fuzz-token-0123456789", "fuzz")
        if status not in (200, 400, 413, 429, 500):
            raise Crash(f"unexpected HTTP status {status}")
        x = etree.fromstring(body)
        code = x.findtext(f".//{{{HUB}}}HubFault/{{{HUB}}}Code")
        if status != 200 and not code:
            raise Crash(f"fault without an edihub code: {body[:300]!r}")
        if code == "internal-error":
            raise Crash(f"internal error answered for the input: {body[:300]!r}")


TARGETS = {"parse": target_parse, "validate": target_validate, "translate": target_translate,
           "response": target_response, "envelope": target_envelope, "soap": target_soap}


# -- input generation ------------------------------------------------------------------------------------------
def soap_wrap(doc: bytes, op: str = "ValidateRequest") -> bytes:
    return (f'<s:Envelope xmlns:s="{S11}"><s:Body><h:{op} xmlns:h="{HUB}"><h:Payload>'
            f'{base64.b64encode(doc).decode()}</h:Payload></h:{op}></s:Body></s:Envelope>').encode()


_TOKENS = [b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>", b"&e;", b"<![CDATA[", b"]]>", b"<!--",
           b"-->", b"<?pi x?>", b"&#0;", b"&#x1F;", b"\xff\xfe", b"\x00", b"xmlns=\"urn:x\"", b"</", b"/>",
           b"'; DROP TABLE messages;--", b"../../", b"\xe2\x80\xae", b"9" * 40, b"-1", b"1e309", b"NaN"]


def mutate(data: bytes, rnd: random.Random, n: int | None = None) -> bytes:
    """Byte-level and token-level mutations of a (usually well-formed) seed."""
    b = bytearray(data)
    for _ in range(n or rnd.randint(1, 4)):
        op = rnd.randrange(6)
        pos = rnd.randrange(len(b) + 1) if b else 0
        if op == 0 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[pos:pos] = rnd.choice(_TOKENS)
        elif op == 2 and b:
            del b[pos:pos + rnd.randint(1, 64)]
        elif op == 3 and b:
            end = min(len(b), pos + rnd.randint(1, 200))
            b[pos:pos] = b[pos:end]
        elif op == 4:
            # replace the text between two tags by a token
            i = b.find(b">", pos)
            j = b.find(b"<", i + 1) if i >= 0 else -1
            if 0 <= i < j:
                b[i + 1:j] = rnd.choice(_TOKENS)
        else:
            b = b[:pos]
    return bytes(b)


def seeds_for(target: str) -> list[bytes]:
    docs = samples()
    if target in ("soap", "envelope"):
        return [soap_wrap(d, op) for d in docs[:8] for op in ("ValidateRequest", "SubmitRequest")]
    return docs


# -- runners ---------------------------------------------------------------------------------------------------
def run_one(name: str, data: bytes) -> str | None:
    """None if the target handled the input as documented, else a description of the crash."""
    try:
        TARGETS[name](data)
    except Crash as e:
        return f"{e}"
    except RecursionError:
        return "RecursionError\n" + traceback.format_exc(limit=5)
    except Exception:  # noqa: BLE001
        return traceback.format_exc(limit=8)
    return None


def fuzz_random(name: str, seconds: float, seed: int, out: Path) -> tuple[int, list[Path]]:
    rnd = random.Random(seed)
    seeds = seeds_for(name)
    deadline = time.monotonic() + seconds
    n, found, seen = 0, [], set()
    while time.monotonic() < deadline:
        base = rnd.choice(seeds)
        data = mutate(base, rnd) if rnd.random() < 0.9 else bytes(rnd.randrange(256) for _ in range(rnd.randrange(64)))
        if name in ("soap", "envelope") and rnd.random() < 0.5:
            data = soap_wrap(mutate(rnd.choice(samples()), rnd), rnd.choice(["ValidateRequest", "SubmitRequest",
                                                                              "TranslateRequest"]))
        n += 1
        problem = run_one(name, data)
        if problem:
            sig = problem.strip().splitlines()[-1][:200]
            if sig in seen:         # one file per distinct failure
                continue
            seen.add(sig)
            out.mkdir(parents=True, exist_ok=True)
            p = out / f"{name}-{hashlib.sha256(data).hexdigest()[:12]}.bin"
            p.write_bytes(data)
            p.with_suffix(".txt").write_text(problem)
            found.append(p)
            print(f"fuzz: CRASH in {name}: {p}\n{problem}", file=sys.stderr)
    return n, found


def fuzz_atheris(name: str, seconds: float, out: Path) -> int:   # pragma: no cover - optional tool
    import atheris
    out.mkdir(parents=True, exist_ok=True)

    def one(data: bytes):
        problem = run_one(name, data)
        if problem:
            (out / f"{name}-{hashlib.sha256(data).hexdigest()[:12]}.bin").write_bytes(data)
            raise Crash(problem)
    corpus = Path(tempfile.mkdtemp(prefix=f"edihub-fuzz-{name}-"))
    for i, s in enumerate(seeds_for(name)):
        (corpus / f"seed{i}").write_bytes(s)
    run_one(name, seeds_for(name)[0])     # import everything the target uses, then instrument it for coverage
    atheris.instrument_all()
    atheris.Setup([sys.argv[0], f"-max_total_time={int(seconds)}", "-max_len=200000", str(corpus)], one)
    atheris.Fuzz()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0, help="total wall-clock budget")
    ap.add_argument("--target", action="append", choices=sorted(TARGETS), help="target(s); default: all")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=str(ROOT / "test-artifacts" / "fuzz"))
    ap.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    if a.list:
        for k, f in TARGETS.items():
            print(f"{k:10} {(f.__doc__ or '').strip().splitlines()[0] if f.__doc__ else ''}")
        return 0
    names = a.target or list(TARGETS)
    engine = a.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris" if len(names) == 1 else "random"   # atheris.Fuzz() never returns: one target
        except ImportError:
            engine = "random"
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    out = Path(a.out)
    per = a.minutes * 60 / len(names)
    print(f"fuzz: engine={engine} seed={seed} targets={','.join(names)} {per:.0f}s each")
    if engine == "atheris":
        return fuzz_atheris(names[0], per, out)
    if "soap" in names:
        soap_runtime()          # set-up problems are not crashes of the target
    crashes = 0
    for name in names:
        n, found = fuzz_random(name, per, seed, out)
        crashes += len(found)
        print(f"fuzz: {name}: {n} inputs, {len(found)} crash(es), {n / per:.0f}/s")
    print(f"fuzz: total crashes {crashes}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
