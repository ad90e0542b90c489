"""`edihub serve [--config FILE] [--host H] [--port P]`: run the hub server (see server.py)."""
from __future__ import annotations


def register(sub) -> None:
    from routing.serve import add_arguments
    p = sub.add_parser("serve", help="run the hub server (SOAP + HTTP API + delivery worker)")
    add_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from routing.serve import serve
    return serve(args.config, args.host, args.port, args.log_level)
