"""The application `python server.py` serves from the shipped edihub.toml: the hub plus the operator console,
/metrics and /readyz, and the demo operator whose random password is written once to var/."""
import re
import shutil
from pathlib import Path

from starlette.testclient import TestClient

from routing.config import demo_console_password_file, load_config
from routing.runtime import build_runtime
from routing.serve import build_app

ROOT = Path(__file__).resolve().parent.parent


def test_demo_configuration_serves_console_metrics_and_readiness(tmp_path):
    shutil.copy(ROOT / "edihub.toml", tmp_path / "edihub.toml")
    cfg = load_config(tmp_path / "edihub.toml", env={})
    assert set(cfg.console.users) == {"demo"} and cfg.console.users["demo"].role == "operator"
    password_file = demo_console_password_file(tmp_path)
    password = password_file.read_text().strip()
    assert len(password) >= 12 and oct(password_file.stat().st_mode & 0o777) == "0o600"
    assert password not in (tmp_path / "edihub.toml").read_text()
    # a second load keeps the same password
    load_config(tmp_path / "edihub.toml", env={})
    assert password_file.read_text().strip() == password

    rt = build_runtime(cfg)
    try:
        app = build_app(rt, start_worker=False)
        with TestClient(app, base_url="http://127.0.0.1:8080") as c:
            assert c.get("/readyz").json()["checks"]["store"]["ok"] is True
            assert "edihub_" in c.get("/metrics").text
            assert c.get("/console/messages", follow_redirects=False).status_code == 303
            form = c.get("/console/login").text
            csrf = re.search(r'name="csrf"[^>]*value="([^"]+)"', form).group(1)
            bad = c.post("/console/login", data={"csrf": csrf, "username": "demo", "password": "wrong"},
                         follow_redirects=False)
            assert bad.status_code != 303
            form = c.get("/console/login").text
            csrf = re.search(r'name="csrf"[^>]*value="([^"]+)"', form).group(1)
            ok = c.post("/console/login", data={"csrf": csrf, "username": "demo", "password": password},
                        headers={"Origin": "http://127.0.0.1:8080"}, follow_redirects=False)
            assert ok.status_code == 303
            assert c.get("/console/messages").status_code == 200
            assert c.get("/soap?wsdl").status_code == 200
    finally:
        rt.store.close()


def test_a_real_console_user_replaces_the_demo_user(tmp_path):
    from argon2 import PasswordHasher
    text = (ROOT / "edihub.toml").read_text() + (
        f'\n[console.users.olga]\npassword_hash = "{PasswordHasher().hash("s3cret-pass")}"\nrole = "viewer"\n')
    (tmp_path / "edihub.toml").write_text(text)
    cfg = load_config(tmp_path / "edihub.toml", env={})
    assert set(cfg.console.users) == {"olga"}
    assert not demo_console_password_file(tmp_path).exists()
