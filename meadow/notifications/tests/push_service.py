"""A local stand-in for a browser's push service (FCM, Mozilla autopush …), for the tests: a real HTTP server on
127.0.0.1 that speaks the Web Push protocol's receiving side. For each POST it

* checks the VAPID ``Authorization: vapid t=<JWT>, k=<key>`` header (RFC 8292): the key is the one the browser
  subscribed with, the JWT's ES256 signature verifies with it, ``aud`` is this server's origin, ``exp`` lies in
  the next 24 hours and ``sub`` is a contact;
* decrypts the ``aes128gcm`` body (RFC 8188/8291) with the subscription's private key and auth secret — what only
  the browser holding them can do;
* records what it got and answers the next status of its script (201 by default; 410 for a subscription the
  browser dropped, 500 for an outage …).

It is the protocol, not a mock of Meadow: Meadow's code runs unchanged and talks HTTP to it."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Browser:
    """One browser's subscription keys (what ``pushManager.subscribe`` creates)."""

    token: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64e(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


@dataclass
class Received:
    token: str
    status: int
    payload: dict | None
    claims: dict | None
    headers: dict
    error: str = ""


class PushService:
    def __init__(self, *, application_server_key: str) -> None:
        self.application_server_key = application_server_key
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []
        self.script: dict[str, list[int]] = {}  # token → statuses to answer, in order (then 201)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def browser(self, token: str) -> Browser:
        self.browsers[token] = Browser(token=token)
        return self.browsers[token]

    def endpoint(self, token: str) -> str:
        return f"{self.origin}/push/{token}"

    def delivered(self, token: str | None = None) -> list[dict]:
        return [
            r.payload
            for r in self.received
            if r.payload is not None and r.status < 300 and (token is None or r.token == token)
        ]

    def start(self) -> PushService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the receiving side of the protocol ---------------------------------------------------------------------
    def _check_vapid(self, authorization: str) -> dict:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"not a vapid authorization: {authorization[:20]!r}")
        params = dict(part.strip().split("=", 1) for part in rest.split(","))
        if params.get("k") != self.application_server_key:
            raise ValueError("signed with another key than the browser subscribed with")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(params["k"]))
        header_b64, claims_b64, signature_b64 = params["t"].split(".")
        header = json.loads(b64d(header_b64))
        if header.get("alg") != "ES256":
            raise ValueError(f"JWT alg {header.get('alg')}")
        raw = b64d(signature_b64)
        signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(b64d(claims_b64))
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')} is not {self.origin}")
        if not time.time() < int(claims.get("exp", 0)) <= time.time() + 24 * 3600:
            raise ValueError("exp out of range")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("sub is not a contact")
        return claims

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                token = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = Received(token=token, status=201, payload=None, claims=None, headers=headers)
                try:
                    browser = service.browsers.get(token)
                    if browser is None:
                        raise LookupError("unknown subscription")
                    record.claims = service._check_vapid(headers.get("authorization", ""))
                    if headers.get("content-encoding") != "aes128gcm":
                        raise ValueError(f"content-encoding {headers.get('content-encoding')}")
                    if "ttl" not in headers:
                        raise ValueError("no TTL header")
                    plain = http_ece.decrypt(
                        body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
                    )
                    record.payload = json.loads(plain.decode("utf-8"))
                    script = service.script.get(token) or []
                    record.status = script.pop(0) if script else 201
                except LookupError as exc:
                    record.status, record.error = 404, str(exc)
                except (ValueError, KeyError, InvalidSignature) as exc:
                    record.status, record.error = 400, f"{type(exc).__name__}: {exc}"
                service.received.append(record)
                self.send_response(record.status)
                self.send_header("Content-Length", "0")
                if record.status == 201:
                    self.send_header("Location", f"/message/{len(service.received)}")
                self.end_headers()

        return Handler
