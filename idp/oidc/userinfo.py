"""The UserInfo endpoint's answer (OIDC Core §5.3): the claims an access token releases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idp.domain.lifecycle import certificate_expiry, current_device_of_user, in_service
from idp.oidc.claims import release, wants_verified_claims
from idp.oidc.server import IdPAuthorizationServer
from idp.oidc.tokens import grant_is_live
from idp.storage.models import DeviceRecord, Grant, User


def userinfo_claims(server: IdPAuthorizationServer, access_token: str) -> dict[str, Any] | None:
    """The claims for a live access token with `openid` in its scope, else None. One query for
    the user, the token's grant and the user's current device; the client comes from the
    server's cache."""
    checked = server.tokens.check_access_token(access_token)
    if checked is None or "openid" not in str(checked.claims.get("scope", "")).split():
        return None
    claims = checked.claims
    client = server.query_client(str(claims.get("client_id")))
    if client is None:
        return None
    query = select(User, Grant, DeviceRecord).where(User.user_id == str(claims["sub"]))
    query = query.outerjoin_from(User, Grant, Grant.grant_id == (checked.grant_id or ""))
    query = query.outerjoin_from(User, DeviceRecord, current_device_of_user())
    with server.services.db.read() as session:
        row = session.execute(query).first()
    if row is None:
        return None
    user, grant, device = row
    if not in_service(user) or (checked.grant_id and not grant_is_live(grant)):
        return None
    claims_request = grant.claims_request if grant else None
    allowed = client.record.allowed_claims
    scope, registered = claims["scope"], client.record.scope
    expiry = certificate_expiry(device, server.services.clock.now())
    released = release(
        user,
        scope,
        allowed,
        claims_request,
        "userinfo",
        registered=registered,
        softtoken_expires_at=expiry,
    )
    if wants_verified_claims(allowed, claims_request, "userinfo"):
        released.update(server.verified_claims_of(user.user_id, claims_request, "userinfo"))
    return {"sub": user.user_id, **released}
