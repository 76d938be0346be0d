"""A local stand-in for Google's Firebase key endpoint, and Firebase-shaped ID tokens.

:class:`KeyServer` serves a keys document on a free loopback port, in Google's x509 format
(``{kid: PEM certificate}``) or as a JWKS (``{"keys": [...]}``), with ``Cache-Control:
max-age``, and counts how often it was asked. :class:`SigningKey` is an RSA key that signs ID
tokens the way Firebase does (RS256, ``kid`` in the header).
"""

from __future__ import annotations

import functools
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

PROJECT = "porfin-clinica-test"


class SigningKey:
    """An RSA key pair with a key id, as Google holds them for Firebase."""

    def __init__(self, kid: str, bits: int = 2048) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)

    def certificate_pem(self) -> str:
        """A self-signed certificate of the public key (what Google's x509 endpoint lists)."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system")])
        start = datetime(2026, 1, 1, tzinfo=UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=730))
            .sign(self.private, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK."""
        jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def public_pem(self) -> bytes:
        """The public key in PEM (what an HS256 key-confusion attack would use as secret)."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], *, kid: str | None = None, **headers: Any) -> str:
        """An RS256 JWT of ``claims`` with ``kid`` (this key's unless told otherwise)."""
        return jwt.encode(
            claims, self.private, algorithm="RS256", headers={"kid": kid or self.kid, **headers}
        )


@functools.cache
def signing_key(kid: str) -> SigningKey:
    """One key per id for the whole test session (generating RSA keys takes a while)."""
    return SigningKey(kid)


def id_token_claims(
    now: datetime, *, project: str = PROJECT, uid: str = "firebase-uid-1", **overrides: Any
) -> dict[str, Any]:
    """The payload of a Firebase ID token issued a minute before ``now``."""
    at = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": at - 300,
        "user_id": uid,
        "sub": uid,
        "iat": at - 60,
        "exp": at + 3540,
        "email": "ana@clinica.com.br",
        "email_verified": True,
        "firebase": {
            "identities": {"email": ["ana@clinica.com.br"]},
            "sign_in_provider": "password",
        },
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


class KeyServer:
    """Serves a keys document over HTTP on 127.0.0.1, like Google's endpoint.

    Attributes:
        hits: How many times the document was fetched.
        status: HTTP status of the next answers (set 500 to play an outage).
        body: The raw answer (``publish_*`` set it).
        cache_control: The ``Cache-Control`` header of the answers.
    """

    def __init__(self) -> None:
        self.hits = 0
        self.status = 200
        self.body = b"{}"
        self.cache_control = "public, max-age=3600, must-revalidate, no-transform"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = server.body
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Cache-Control", server.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Where the document is served."""
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"

    def publish_x509(self, *keys: SigningKey, max_age: int = 3600) -> None:
        """Serve ``{kid: certificate}``, Google's format."""
        self.body = json.dumps({k.kid: k.certificate_pem() for k in keys}).encode()
        self.cache_control = f"public, max-age={max_age}, must-revalidate, no-transform"

    def publish_jwks(self, *keys: SigningKey, max_age: int = 3600) -> None:
        """Serve a JWKS document."""
        self.body = json.dumps({"keys": [k.jwk() for k in keys]}).encode()
        self.cache_control = f"public, max-age={max_age}"

    def __enter__(self) -> KeyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
