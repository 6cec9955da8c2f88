"""Token signing keys: generated on first start, private parts encrypted at rest, rotated safely.

Each algorithm (RS256 for ID tokens by default, ES256 for access tokens and per-client ID tokens)
has at most one ``active`` key that signs, one ``next`` key that is already published in JWKS
but does not sign yet, and ``retired`` keys that stay in JWKS until every token they signed has
expired. Rotation promotes ``next`` to ``active``, so relying parties that cache JWKS already
know the new key when it starts signing.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import audit, compact_jws
from idp.domain.secrets import MasterKey, sha256_hex
from idp.domain.signer_process import SignerProcess
from idp.storage.db import Database
from idp.storage.models import SigningKey

ALGORITHMS = ("RS256", "ES256")
# Tokens remembered after their signature checked out (see KeyRing.verify): about 1.5 KB each,
# so at most 15 MB per process.
VERIFIED_CACHE_SIZE = 10_000
AnyKey = RSAKey | ECKey


def _generate(alg: str) -> AnyKey:
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True)
    return ECKey.generate_key("P-256", private=True)


def _new_key(alg: str, state: str, master: MasterKey) -> SigningKey:
    key = _generate(alg)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    private = json.dumps(key.as_dict(private=True)).encode()
    return SigningKey(
        kid=kid,
        alg=alg,
        state=state,
        public_jwk=public,
        private_encrypted=master.encrypt(private, kid.encode()),
        created_at=datetime.now(UTC),
    )


def ensure_keys(session: Session, master: MasterKey) -> None:
    """Create the active and next key of every algorithm that lacks them."""
    existing = {(k.alg, k.state) for k in session.scalars(select(SigningKey))}
    for alg in ALGORITHMS:
        for state in ("active", "next"):
            if (alg, state) not in existing:
                session.add(_new_key(alg, state, master))


def rotate(session: Session, master: MasterKey, max_token_ttl: int, actor: str) -> list[str]:
    """Promote next → active, active → retired, and publish a fresh next key per algorithm."""
    now = datetime.now(UTC)
    rows = list(session.scalars(select(SigningKey).with_for_update()))
    promoted = []
    for alg in ALGORITHMS:
        for row in rows:
            if row.alg == alg and row.state == "active":
                row.state = "retired"
                row.retired_at = now
                row.publish_until = now + timedelta(seconds=max_token_ttl + 60)
        for row in rows:
            if row.alg == alg and row.state == "next":
                row.state = "active"
                promoted.append(row.kid)
        session.flush()
        session.add(_new_key(alg, "next", master))
    audit.record(session, "keys.rotate", actor=actor, subject="signing_keys", activated=promoted)
    return promoted


def describe_all(session: Session) -> list[dict[str, Any]]:
    """Every signing key's public facts, oldest first (never key material)."""
    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at))
    return [
        {
            "kid": k.kid,
            "alg": k.alg,
            "state": k.state,
            "created_at": k.created_at.isoformat(),
            "publish_until": k.publish_until.isoformat() if k.publish_until else None,
        }
        for k in rows
    ]


@dataclass(frozen=True)
class KeySnapshot:
    signing: dict[str, tuple[str, AnyKey]]  # alg -> (kid, private key)
    published: list[dict[str, Any]]
    verifying: dict[str, AnyKey]  # kid -> public key
    etag: str


class KeyRing:
    """The signing keys as the server uses them, reloaded from the database periodically."""

    def __init__(self, db: Database, master: MasterKey, refresh_seconds: int) -> None:
        self._db = db
        self._master = master
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._snapshot: KeySnapshot | None = None
        self._loaded_at = 0.0
        self._verified: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self._imported: dict[tuple[str, bool], AnyKey] = {}  # (kid, private) -> key
        self.signer = SignerProcess()  # started by the web application, if configured

    def stale(self) -> bool:
        """The next snapshot() reads the database (none yet, or older than the refresh)."""
        return self._snapshot is None or time.monotonic() - self._loaded_at > self._refresh

    def snapshot(self) -> KeySnapshot:
        if self.stale():
            with self._lock:
                if self.stale():
                    self._snapshot = self._load()
                    self._loaded_at = time.monotonic()
        assert self._snapshot is not None
        return self._snapshot

    def reload(self) -> None:
        with self._lock:
            self._snapshot = self._load()
            self._loaded_at = time.monotonic()

    def _load(self) -> KeySnapshot:
        now = datetime.now(UTC)
        with self._db.session() as session:
            rows = list(session.scalars(select(SigningKey).order_by(SigningKey.created_at)))
        signing: dict[str, tuple[str, AnyKey]] = {}
        published, verifying = [], {}
        # A key ID names one key for ever, so keys imported by an earlier load are reused:
        # importing an RSA private key validates it, 38 ms that used to stall whichever request
        # (often the event loop) found the snapshot stale, once a minute.
        imported, self._imported = self._imported, {}
        for row in rows:
            expired = row.publish_until is not None and _aware(row.publish_until) < now
            if row.state == "retired" and expired:
                continue
            published.append(row.public_jwk)
            public = imported.get((row.kid, False)) or _import(row.public_jwk)
            verifying[row.kid] = self._imported[(row.kid, False)] = public
            if row.state == "active":
                private = imported.get((row.kid, True)) or _import(
                    json.loads(self._master.decrypt(row.private_encrypted, row.kid.encode()))
                )
                self._imported[(row.kid, True)] = private
                signing[row.alg] = (row.kid, private)
        etag = '"' + sha256_hex(",".join(sorted(verifying)))[:32] + '"'
        return KeySnapshot(signing, published, verifying, etag)

    def sign(self, claims: dict[str, Any], alg: str, typ: str = "JWT") -> str:
        kid, private = self._signing_key(alg)
        return compact_jws.sign(claims, alg, kid, typ, private)

    async def sign_async(self, claims: dict[str, Any], alg: str, typ: str = "JWT") -> str:
        """sign, with the signature made by the signer process when it runs."""
        kid, private = self._signing_key(alg)
        data = compact_jws.signing_input(claims, alg, kid, typ)
        return compact_jws.assemble(data, alg, await self.signer.sign(kid, private, alg, data))

    def _signing_key(self, alg: str) -> tuple[str, compact_jws.PrivateKey]:
        kid, key = self.snapshot().signing[alg]
        private = key.private_key
        if private is None:
            raise ValueError(f"the {alg} key {kid} has no private part")
        return kid, private

    def private_key(self, alg: str) -> tuple[str, AnyKey]:
        return self.snapshot().signing[alg]

    def verify(self, token: str, algorithms: tuple[str, ...] = ALGORITHMS) -> dict[str, Any]:
        """Check the signature of one of our JWTs; raise ValueError if it is not ours.

        A token that verified once is remembered (bounded, in this process) with the key that
        signed it: a resource server introspects the same token on every call it receives, and
        the signature check is most of the cost. A remembered token is believed only while its
        key is still published; expiry and revocation are the caller's checks, made every time.
        """
        snapshot = self.snapshot()
        remembered = self._verified.get(token)
        if remembered is not None:
            kid, alg, claims = remembered
            if kid in snapshot.verifying and alg in algorithms:
                return dict(claims)
        try:
            header = jws.extract_compact(token.encode()).headers()
        except Exception as exc:
            raise ValueError("not a JWT") from exc
        kid, alg = str(header.get("kid")), str(header.get("alg"))
        key = snapshot.verifying.get(kid)
        if key is None or alg not in algorithms:
            raise ValueError("unknown key")
        try:
            claims = dict(jwt.decode(token, key, algorithms=[alg]).claims)
        except Exception as exc:
            raise ValueError("bad signature") from exc
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (kid, alg, claims)
        return dict(claims)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _import(data: dict[str, Any]) -> AnyKey:
    if data["kty"] == "RSA":
        return RSAKey.import_key(data)
    return ECKey.import_key(data)
