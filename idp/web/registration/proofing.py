"""Registration step 2: proofing at the upstream identity provider, cross-device. The wizard
shows a QR code; the phone opens it (proof_start), signs in at the upstream and comes back
(proof_callback); the desktop polls (proof_status) until the answer is recorded."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from idp.domain.errors import Message
from idp.oidc.adapter import origin_of
from idp.upstream.keys import public_jwks
from idp.upstream.proofing import ProofingError
from idp.web.context import ctx
from idp.web.signin.required import fresh_session

PROOFING_PROBLEMS = {
    "id_mismatch": Message(
        "the proofed national ID differs from the one you entered",
    ),
    "failed": Message("identity proofing failed: try again"),
}


PROOFING_REASONS = (
    "id_mismatch",
    "state_mismatch",
    "nonce_mismatch",
    "invalid_id_token",
    "token_exchange_failed",
    "upstream_access_denied",
    "upstream_unreachable",
    "link_expired",
    "no_code",
    "failed",
)


async def proof_start(request: Request) -> Response:
    """The phone opened the desktop's QR code: on to the upstream identity provider."""
    c = ctx(request)
    try:
        url = await run_in_threadpool(c.proofing.authorization_url, request.path_params["token"])
    except ProofingError:
        return c.render.error(
            request,
            Message(
                "this link has expired: scan the QR code on the computer again",
            ),
        )
    return RedirectResponse(url, status_code=303)


async def proof_callback(request: Request) -> Response:
    c = ctx(request)
    params = {k: v for k, v in request.query_params.items()}
    try:
        registration_id, result = await run_in_threadpool(c.proofing.complete, params)
    except ProofingError as failure:
        await run_in_threadpool(c.registration.proofing_failed, failure.reason, origin_of(request))
        reason = failure.reason if failure.reason in PROOFING_REASONS else "failed"
        return c.render.page(request, "proofed.html", ok=False, reason=reason, status=400)
    status = await run_in_threadpool(
        c.registration.record_proofing, registration_id, result, origin_of(request)
    )
    return c.render.page(request, "proofed.html", ok=status == "completed", reason=status)


async def proof_status(request: Request) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return JSONResponse({"status": "gone"}, status_code=401)
    status = await run_in_threadpool(c.registration.proofing_status, session.user_id)
    return JSONResponse({"status": status or "waiting"}, headers={"Cache-Control": "no-store"})


async def upstream_client_jwks(request: Request) -> Response:
    """The public key that signs our private_key_jwt assertions to the upstream."""
    return JSONResponse(
        public_jwks(ctx(request).proofing.client_key),
        headers={"Cache-Control": "public, max-age=3600"},
    )
