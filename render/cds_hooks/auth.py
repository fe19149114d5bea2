"""The EHR's JWT bearer tokens (CDS Hooks 2.0, "Trusting CDS Clients"), verified with PyJWT.

A token is accepted only when:

* the header has ``typ`` JWT, a ``kid``, and an asymmetric ``alg`` (RS*, PS*, ES*; never
  ``none`` or HMAC, which the spec forbids);
* ``iss`` is on the allow-list, and the key comes from that issuer's JWK Set — a configured URL
  or file; a ``jku`` header is followed only when it is that URL or on the issuer's ``jku``
  allow-list;
* the signature verifies with the key named by ``kid``;
* ``aud`` is the URL of the endpoint being called; ``exp``, ``iat`` and ``jti`` are present; the
  token has not expired, was not issued in the future, lives at most MAX_LIFETIME seconds, and
  its ``jti`` was not seen before (replay).

Failures raise :class:`AuthError` with a reason for the HTTP reply; nothing from the token is
logged.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AuthError", "Issuer", "Verifier", "ALGORITHMS", "MAX_LIFETIME", "parse_issuer"]

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
MAX_LIFETIME = 3600  # seconds between iat and exp
LEEWAY = 30  # seconds of clock skew
MAX_JTI = 100_000


class AuthError(Exception):
    """The request's token is missing or not trusted; `reason` goes into the 401 reply."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Issuer:
    iss: str
    jwks: str  # an https URL, or a file with a JWK Set
    jku: tuple[str, ...] = ()  # other JWK Set URLs this issuer may name in a jku header

    @property
    def is_url(self) -> bool:
        return self.jwks.startswith("https://") or self.jwks.startswith("http://")


def parse_issuer(text: str) -> Issuer:
    """ISS=JWKS (URL or file); the issuer URL may itself contain '=', so split at the last
    '=' that is followed by a URL or an existing path."""
    for i in range(len(text) - 1, 0, -1):
        if text[i] == "=":
            iss, jwks = text[:i], text[i + 1 :]
            if jwks.startswith(("http://", "https://")) or Path(jwks).exists():
                return Issuer(iss, jwks)
    raise ValueError(f"--issuer takes ISS=JWKS, where JWKS is the issuer's JWK Set URL or a file with it, got {text!r}")


@dataclass
class _FileKeys:
    path: str
    mtime: float = -1.0
    keys: dict[str, Any] = field(default_factory=dict)


class Verifier:
    def __init__(self, issuers: list[Issuer], *, leeway: int = LEEWAY, max_lifetime: int = MAX_LIFETIME):
        import jwt  # noqa: F401  (fail early when PyJWT is missing)

        self.issuers = {i.iss: i for i in issuers}
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self._clients: dict[str, Any] = {}
        self._files: dict[str, _FileKeys] = {}
        self._jti: dict[str, float] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ keys
    def _url_key(self, url: str, kid: str) -> Any:
        import jwt

        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
                self._clients[url] = client
        try:
            return client.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError:
            raise AuthError("the issuer's JWK Set could not be fetched") from None
        except jwt.PyJWKClientError:
            raise AuthError("no key with this kid in the issuer's JWK Set") from None

    def _file_key(self, path: str, kid: str) -> Any:
        import jwt

        with self._lock:
            fk = self._files.setdefault(path, _FileKeys(path))
            try:
                mtime = Path(path).stat().st_mtime
            except OSError:
                raise AuthError("the issuer's JWK Set file cannot be read") from None
            if mtime != fk.mtime:
                try:
                    data = json.loads(Path(path).read_text(encoding="utf-8"))
                    keyset = jwt.PyJWKSet.from_dict(data)
                except (OSError, ValueError, jwt.PyJWKSetError, jwt.InvalidKeyError):
                    raise AuthError("the issuer's JWK Set file is not a JWK Set") from None
                fk.keys = {k.key_id: k.key for k in keyset.keys if k.key_id}
                fk.mtime = mtime
            key = fk.keys.get(kid)
        if key is None:
            raise AuthError("no key with this kid in the issuer's JWK Set")
        return key

    # ------------------------------------------------------------------ verify
    def verify(self, authorization: str | None, audience: str | list[str]) -> dict[str, Any]:
        """The verified claims of the bearer token in an Authorization header value."""
        import jwt

        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("an Authorization: Bearer JWT is required")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthError(f"JWT alg must be one of {', '.join(ALGORITHMS)}")
        if str(header.get("typ", "")).upper() != "JWT":
            raise AuthError("JWT header typ must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("JWT header kid is required")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("JWT issuer is not trusted")
        jku = header.get("jku")
        if jku is not None:
            allowed = set(issuer.jku) | ({issuer.jwks} if issuer.is_url else set())
            if jku not in allowed:
                raise AuthError("JWT jku is not on the issuer's allow-list")
            key = self._url_key(str(jku), kid)
        elif issuer.is_url:
            key = self._url_key(issuer.jwks, kid)
        else:
            key = self._file_key(issuer.jwks, kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("JWT has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("JWT aud is not this endpoint") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"JWT claim '{exc.claim}' is required") from None
        except jwt.PyJWTError:
            raise AuthError("JWT signature or claims do not verify") from None
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)) or iat > now + self.leeway:
            raise AuthError("JWT iat is in the future")
        if not isinstance(exp, (int, float)) or exp - iat > self.max_lifetime:
            raise AuthError(f"JWT lifetime exceeds {self.max_lifetime} seconds")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AuthError("JWT jti is required")
        with self._lock:
            for k in [k for k, e in self._jti.items() if e < now - self.leeway]:
                del self._jti[k]
            key_jti = f"{iss}\x00{jti}"
            if key_jti in self._jti:
                raise AuthError("JWT jti was already used (replay)")
            if len(self._jti) >= MAX_JTI:
                raise AuthError("too many live tokens; try again")
            self._jti[key_jti] = float(exp)
        return claims
