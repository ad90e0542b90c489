"""python -m samples.endpoints --port 8090 [--host 127.0.0.1] [--hub-cert PEM ...]"""
from __future__ import annotations

import argparse
import sys

from . import AUTHORITIES, serve
from .authorities import TITLES


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.endpoints",
                                 description="Simulated national endpoints (VNACCS, SIVECA/SOFIA, PRC, Iran) on one port")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--hub-cert", action="append", default=None,
                    help="PEM certificate of the hub; signatures are verified against it (repeatable)")
    ap.add_argument("--log-level", default="info")
    a = ap.parse_args(argv)
    for name in AUTHORITIES:
        print(f"  http://{a.host}:{a.port}/{name:<7} {TITLES[name]}", file=sys.stderr)
    print(f"  control: GET http://{a.host}:{a.port}/_control/stats, POST /<authority>/_control", file=sys.stderr)
    try:
        serve(a.port, a.host, a.hub_cert, a.log_level)
    except OSError as e:
        print(f"cannot listen on {a.host}:{a.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
