"""Shared settings and the hub configuration of the hostile suite (imported by conftest.py and the tests)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent / "hub") not in sys.path:
    sys.path.insert(0, str(HERE.parent / "hub"))

from hubkit import ENV, config_text  # noqa: E402

FLOOD_TOKEN = "test-token-flood-partner-5555"
BODY_LIMIT = 200_000
BODY_TIMEOUT = 1.5


def wired() -> tuple[bool, bool]:
    """(per-partner limits, body read deadline) known to routing/config.py."""
    from routing.config import Partner, ServerCfg
    return "max_in_flight" in Partner.__dataclass_fields__, "body_read_timeout" in ServerCfg.__dataclass_fields__


def hostile_config(tmp: Path, pki: Path, endpoints: str) -> str:
    limits, deadline = wired()
    LIMITS = "rate = 2.0\nburst = 3\nmax_in_flight = 2" if limits else ""
    text = config_text(tmp, pki, endpoints, extra=f"""
[partners.partner-flood]
token_env = "T_PARTNER_FLOOD"
may_send = ["vnaccs:IDA"]
{LIMITS}
[partners.partner-old]
certificates = ["{pki / 'expired.pem'}"]
may_send = ["vnaccs:IDA"]
""")
    assert f"max_body_bytes = {BODY_LIMIT}" in text
    if deadline:
        text = text.replace("pipeline_threads = 4", f"pipeline_threads = 4\nbody_read_timeout = {BODY_TIMEOUT}", 1)
    return text


def hostile_env() -> dict:
    return {**ENV, "T_PARTNER_FLOOD": FLOOD_TOKEN}


def build(tmp: Path, pki: Path, endpoints: str, env: dict | None = None, text: str | None = None):
    from routing.config import load_config
    from routing.runtime import build_runtime
    env = env or hostile_env()
    os.environ.update(env)
    cfg = load_config(tmp, text=text or hostile_config(tmp, pki, endpoints), env=env)
    return build_runtime(cfg)
