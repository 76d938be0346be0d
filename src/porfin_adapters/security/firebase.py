"""Firebase Authentication ID tokens, verified locally with Google's public keys.

Follows Firebase's "Verify ID tokens using a third-party JWT library": the header must say
``alg: RS256`` and name (``kid``) one of the keys Google publishes for
``securetoken@system.gserviceaccount.com``; the payload's ``exp`` must be in the future,
``iat`` and ``auth_time`` in the past, ``aud`` the project id, ``iss``
``https://securetoken.google.com/<project id>`` and ``sub`` (the user's uid) a non-empty
string. Times are compared with a small leeway for clocks that drift.

The keys are fetched with httpx from a configurable URL, either Google's map of key id to PEM
certificate or a JWKS document (``{"keys": [...]}``), and kept as long as the answer's
``Cache-Control: max-age`` says. A token naming a key that is not in the cache makes one early
refetch (Google may have rotated), at most once a minute, so forged key ids cannot make Porfin
hammer the key server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from porfin_adapters.settings import Settings
from porfin_core.errors import IdentityProviderUnavailable, InvalidCredentials
from porfin_core.ports.identity import ExternalIdentity, IdentityTokenVerifier

GOOGLE_KEYS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
ISSUER_PREFIX = "https://securetoken.google.com/"
PROVIDER = "firebase"

LEEWAY = timedelta(seconds=60)
"""Clock drift tolerated when comparing ``exp``, ``iat``, ``auth_time`` with the clock."""
MIN_REFETCH_INTERVAL = timedelta(minutes=1)
"""Never fetch the keys more often than this (unknown key ids, ``max-age=0``)."""
DEFAULT_FRESHNESS = timedelta(minutes=5)
"""How long keys are kept when the answer has no ``max-age``."""
MAX_FRESHNESS = timedelta(days=1)
"""Longest a fetched key set is trusted, whatever ``max-age`` says."""
FAILURE_BACKOFF = timedelta(seconds=5)
"""After a failed fetch, requests fail at once for this long instead of each trying again."""
FETCH_TIMEOUT = 5.0
MAX_DOCUMENT_BYTES = 1_048_576
MIN_KEY_BITS = 2048


class GooglePublicKeys:
    """The RSA keys that sign Firebase ID tokens, fetched on demand and cached.

    Time comes from the caller (``now``), so the cache follows the application's clock.
    """

    def __init__(self, url: str = GOOGLE_KEYS_URL, *, timeout: float = FETCH_TIMEOUT) -> None:
        self.url = url
        self._timeout = timeout
        self._keys: dict[str, RSAPublicKey] = {}
        self._expires_at: datetime | None = None
        self._attempted_at: datetime | None = None
        self._failed_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str, now: datetime) -> RSAPublicKey:
        """The public key ``kid``.

        Raises:
            InvalidCredentials: no such key, even after a refetch (``reason: unknown_key``).
            IdentityProviderUnavailable: the keys are due and cannot be fetched.
        """
        # One fetch at a time: requests that arrive meanwhile wait and then use its result.
        async with self._lock:
            fresh = self._expires_at is not None and now < self._expires_at
            if not fresh or (kid not in self._keys and self._may_refetch(now)):
                await self._fetch(now)
            found = self._keys.get(kid)
        if found is None:
            raise InvalidCredentials(
                "Firebase ID token signed with an unknown key", reason="unknown_key"
            )
        return found

    def _may_refetch(self, now: datetime) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= MIN_REFETCH_INTERVAL

    async def _fetch(self, now: datetime) -> None:
        if self._failed_at is not None and now - self._failed_at < FAILURE_BACKOFF:
            raise IdentityProviderUnavailable(
                f"Firebase public keys unavailable (last fetch from {self.url} failed)"
            )
        self._attempted_at = now
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            if len(response.content) > MAX_DOCUMENT_BYTES:
                raise ValueError("document too large")
            keys = parse_public_keys(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            self._failed_at = now
            raise IdentityProviderUnavailable(
                f"cannot fetch Firebase public keys from {self.url}: {exc}"
            ) from exc
        self._failed_at = None
        self._keys = keys
        self._expires_at = now + freshness(response.headers)


def freshness(headers: Mapping[str, str]) -> timedelta:
    """How long an answer may be used: ``max-age`` less ``Age``, within sane bounds.

    No ``max-age`` at all: :data:`DEFAULT_FRESHNESS`; ``no-cache``/``no-store``, or less than
    a minute: :data:`MIN_REFETCH_INTERVAL`; never more than :data:`MAX_FRESHNESS`.
    """
    directives = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-cache" in directives or "no-store" in directives:
        return MIN_REFETCH_INTERVAL
    max_age = directives.get("max-age", "")
    if not max_age.isdigit():
        return DEFAULT_FRESHNESS
    age = headers.get("age", "0").strip()
    seconds = int(max_age) - (int(age) if age.isdigit() else 0)
    low, high = MIN_REFETCH_INTERVAL.total_seconds(), MAX_FRESHNESS.total_seconds()
    return timedelta(seconds=min(high, max(low, seconds)))


def parse_public_keys(document: bytes) -> dict[str, RSAPublicKey]:
    """RSA public keys by key id, from Google's ``{kid: PEM certificate}`` map or a JWKS.

    Entries that are not usable RSA signing keys of at least 2048 bits are skipped.

    Raises:
        ValueError: not JSON, neither format, or no usable key at all.
    """
    try:
        parsed = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("the keys document is not JSON") from exc
    if not isinstance(parsed, dict):
        raise ValueError("the keys document is not a JSON object")
    keys: dict[str, RSAPublicKey] = {}
    if isinstance(parsed.get("keys"), list):
        for entry in parsed["keys"]:
            if (kid_key := _jwk(entry)) is not None:
                keys[kid_key[0]] = kid_key[1]
    else:
        for kid, pem in parsed.items():
            if (key := _certificate_key(pem)) is not None:
                keys[kid] = key
    if not keys:
        raise ValueError("the keys document holds no usable RSA key")
    return keys


def _jwk(entry: Any) -> tuple[str, RSAPublicKey] | None:
    if not isinstance(entry, dict) or entry.get("kty") != "RSA":
        return None
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid or entry.get("alg", "RS256") != "RS256":
        return None
    if entry.get("use", "sig") != "sig":
        return None
    try:
        key = RSAAlgorithm.from_jwk(entry)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    public = key.public_key() if isinstance(key, RSAPrivateKey) else key
    return (kid, public) if _strong(public) else None


def _certificate_key(pem: Any) -> RSAPublicKey | None:
    if not isinstance(pem, str):
        return None
    try:
        key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    except ValueError:
        return None
    return key if isinstance(key, RSAPublicKey) and _strong(key) else None


def _strong(key: RSAPublicKey) -> bool:
    return key.key_size >= MIN_KEY_BITS


class FirebaseIdTokenVerifier:
    """Verifies Firebase ID tokens of one Firebase project (RS256 only)."""

    def __init__(
        self, project_id: str, keys: GooglePublicKeys, *, leeway: timedelta = LEEWAY
    ) -> None:
        self.project_id = project_id
        self.issuer = ISSUER_PREFIX + project_id
        self._keys = keys
        self._leeway = leeway.total_seconds()

    async def verify(self, token: str, now: datetime) -> ExternalIdentity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused("malformed Firebase ID token", "malformed") from None
        # Only RS256: never "none", never HS256 with the public key as the secret.
        if header.get("alg") != "RS256":
            raise _refused("Firebase ID tokens are signed with RS256", "algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refused("Firebase ID token without a key id", "unknown_key")
        key = await self._keys.key(kid, now)
        claims = self._decode(token, key)
        clock = now.timestamp()
        if _number(claims, "exp") <= clock - self._leeway:
            raise _refused("Firebase ID token expired", "expired")
        if _number(claims, "iat") > clock + self._leeway:
            raise _refused("Firebase ID token issued in the future", "issued_in_future")
        auth_time = _number(claims, "auth_time")
        if auth_time > clock + self._leeway:
            raise _refused("Firebase ID token authenticated in the future", "auth_time")
        if "nbf" in claims and _number(claims, "nbf") > clock + self._leeway:
            raise _refused("Firebase ID token not valid yet", "not_yet_valid")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > 128:
            raise _refused("Firebase ID token without a valid subject", "subject")
        email = claims.get("email")
        name = claims.get("name")
        firebase = claims.get("firebase")
        method = firebase.get("sign_in_provider") if isinstance(firebase, dict) else None
        return ExternalIdentity(
            provider=PROVIDER,
            subject=subject,
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
            name=name if isinstance(name, str) else None,
            sign_in_method=method if isinstance(method, str) else None,
            authenticated_at=datetime.fromtimestamp(auth_time, tz=UTC),
        )

    def _decode(self, token: str, key: RSAPublicKey) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.project_id,
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "auth_time", "aud", "iss", "sub"],
                    "strict_aud": True,
                    # Times are checked against the application's clock, not the system's.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise _refused("invalid Firebase ID token signature", "signature") from None
        except jwt.InvalidAudienceError:
            raise _refused("Firebase ID token for another project", "audience") from None
        except jwt.InvalidIssuerError:
            raise _refused("Firebase ID token from another issuer", "issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _refused(f"Firebase ID token without {exc.claim!r}", "missing_claim") from None
        except jwt.exceptions.InvalidSubjectError:
            raise _refused("Firebase ID token without a valid subject", "subject") from None
        except jwt.PyJWTError:
            raise _refused("malformed Firebase ID token", "malformed") from None
        return claims


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refused(f"Firebase ID token with a malformed {name!r}", "malformed")
    return float(value)


def _refused(message: str, reason: str) -> InvalidCredentials:
    return InvalidCredentials(message, reason=reason)


def build_identity_verifiers(settings: Settings) -> dict[str, IdentityTokenVerifier]:
    """The identity providers configured in ``settings``: Firebase when a project is set."""
    if not settings.firebase_project_id:
        return {}
    keys = GooglePublicKeys(settings.firebase_keys_url)
    return {PROVIDER: FirebaseIdTokenVerifier(settings.firebase_project_id, keys)}
