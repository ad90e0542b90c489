"""A tiny signing service that holds private keys and signs canonical SignedInfo octets for RemoteSigner
(the shape of an HSM front-end or a remote signing service). Standard library HTTP server; bind it to loopback.

    POST /sign         {"key": id, "method": uri, "signed_info": base64} -> {"signature_value": base64}
    GET  /certificate?key=id -> PEM chain

It signs only a canonical ds:SignedInfo (parsed with translator.parse), never arbitrary bytes, and only with
the signature methods configured per key. A bearer token is required when one is configured.
"""
from __future__ import annotations

import base64
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import serialization

from translator.parsing import ParseError, ParseLimits, parse

from . import algorithms as alg

MAX_BODY = 256 * 1024


class SigningService:
    def __init__(self, signers: dict, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 methods: dict[str, set[str]] | None = None):
        """signers: key id -> LocalSigner; methods: key id -> allowed signature method URIs (default: all the
        key type supports except SHA-1, which must be listed)."""
        self.signers = signers
        self.token = token
        self.methods = methods or {}
        self.signed = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _reply(self, code, body: bytes, ctype="application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _err(self, code, msg):
                self._reply(code, json.dumps({"error": msg}).encode())

            def _authorised(self) -> bool:
                if service.token is None:
                    return True
                got = self.headers.get("Authorization", "")
                return hmac.compare_digest(got.encode(), f"Bearer {service.token}".encode())

            def do_GET(self):
                u = urlparse(self.path)
                if u.path != "/certificate":
                    return self._err(404, "not found")
                if not self._authorised():
                    return self._err(401, "token required")
                kid = parse_qs(u.query).get("key", ["default"])[0]
                s = service.signers.get(kid)
                if s is None or s.certificate is None:
                    return self._err(404, f"no certificate for key {kid!r}")
                pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [s.certificate, *s.chain])
                self._reply(200, pem, "application/x-pem-file")

            def do_POST(self):
                if urlparse(self.path).path != "/sign":
                    return self._err(404, "not found")
                if not self._authorised():
                    return self._err(401, "token required")
                n = int(self.headers.get("Content-Length") or 0)
                if n <= 0 or n > MAX_BODY:
                    return self._err(413, "body missing or too large")
                try:
                    req = json.loads(self.rfile.read(n))
                    kid, method = req.get("key", "default"), req["method"]
                    data = base64.b64decode(req["signed_info"], validate=True)
                except (ValueError, KeyError, TypeError):
                    return self._err(400, "expected JSON {key, method, signed_info (base64)}")
                s = service.signers.get(kid)
                if s is None:
                    return self._err(404, f"unknown key {kid!r}")
                allowed = service.methods.get(kid) or {u for u, v in alg.SIGNATURES.items()
                                                       if v[1] == s.key_kind and u not in alg.SHA1_URIS}
                if method not in allowed:
                    return self._err(403, f"method {method} is not allowed for key {kid!r}")
                try:
                    root = parse(data, ParseLimits(max_bytes=MAX_BODY, max_depth=16)).getroot()
                except ParseError as e:
                    return self._err(400, f"signed_info is not XML: {e.message}")
                if root.tag != alg.DS + "SignedInfo":
                    return self._err(400, "only a canonical ds:SignedInfo is signed")
                sig = s.sign(data, method)
                service.signed += 1
                self._reply(200, json.dumps({"signature_value": base64.b64encode(sig).decode()}).encode())

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SigningService":
        self._thread = threading.Thread(target=self._server.serve_forever, name="edihub-signing-service", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
