"""The web authenticator's part of the device API, under /push/v1/webauthn (JSON).

POST /webauthn/activation-options  {code} → creation options for the code's user
POST /webauthn/activate            {code, credential, poll_key, device} → the new device (201)
POST /webauthn/challenges/{cid}    {device_id, pictures, credential} → the challenge's status
POST /webauthn/ceremony            JWS signed by the polling key {purpose: renew|cancel}
POST /webauthn/renew               {device_id, credential, new_credential} → the new credential
POST /webauthn/subscription        JWS signed by the polling key {subscription} → 204
GET  /webauthn/push-key            the VAPID public key browsers subscribe with

Deny and "not me", and the long-poll, are the device API's own (signed by the polling key).
Cancelling (manual chapter 5) is the host's: it asks `WebDeviceKey.authorize` first.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from push_auth.api import NO_STORE, json_errors, read_body
from push_auth.errors import PushError, bad_request
from push_auth.service import PushAuth
from push_auth.webpush.subscriptions import Subscription

MAX_ENDPOINT = 2048


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (16 KiB at most), or a 400."""
    text = await read_body(request)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise bad_request("invalid_request", "the body must be JSON") from exc
    if not isinstance(data, dict):
        raise bad_request("invalid_request", "the body must be a JSON object")
    return data


def web_device_api(push: PushAuth) -> list[Route]:
    @json_errors
    async def activation_options(request: Request) -> Response:
        data = await json_body(request)
        options = await run_in_threadpool(push.web.activation_options, data.get("code"))
        return JSONResponse(options, headers=NO_STORE)

    @json_errors
    async def activate(request: Request) -> Response:
        data = await json_body(request)
        result = await run_in_threadpool(
            push.web.activate,
            data.get("code"),
            data.get("credential"),
            data.get("poll_key"),
            data.get("device"),
        )
        if push.push_key is not None:
            result["push_key"] = push.push_key()
        return JSONResponse(result, status_code=201, headers=NO_STORE)

    @json_errors
    async def approve(request: Request) -> Response:
        data = await json_body(request)
        challenge = await run_in_threadpool(
            push.web.approve,
            data.get("device_id"),
            request.path_params["cid"],
            data.get("pictures"),
            data.get("credential"),
        )
        return JSONResponse({"status": challenge.status}, headers=NO_STORE)

    @json_errors
    async def ceremony(request: Request) -> Response:
        token = await read_body(request)
        device, claims = await run_in_threadpool(
            push.authenticate,
            token,
            "POST",
            request.url.path,
            allow_expired=True,
            poll_key_allowed=True,
        )
        answer = await run_in_threadpool(push.web.ceremony, device, claims.get("purpose"))
        return JSONResponse(answer, headers=NO_STORE)

    @json_errors
    async def renew(request: Request) -> Response:
        data = await json_body(request)
        result = await run_in_threadpool(
            push.web.renew,
            data.get("device_id"),
            data.get("credential"),
            data.get("new_credential"),
        )
        return JSONResponse(result, headers=NO_STORE)

    @json_errors
    async def subscribe(request: Request) -> Response:
        token = await read_body(request)
        device, claims = await run_in_threadpool(
            push.authenticate, token, "POST", request.url.path, poll_key_allowed=True
        )
        if push.subscriptions is None or push.push_key is None:
            raise PushError("push_disabled", "Web Push is off on this server", 409)
        subscription = _subscription(claims.get("subscription"), device.device_id, device.user_id)
        await run_in_threadpool(push.subscriptions.save, subscription)
        return Response(status_code=204, headers=NO_STORE)

    @json_errors
    async def push_key(request: Request) -> Response:
        if push.push_key is None:
            raise PushError("push_disabled", "Web Push is off on this server", 404)
        key = await run_in_threadpool(push.push_key)
        return JSONResponse({"push_key": key}, headers={"Cache-Control": "public, max-age=3600"})

    return [
        Route("/webauthn/activation-options", activation_options, methods=["POST"]),
        Route("/webauthn/activate", activate, methods=["POST"]),
        Route("/webauthn/challenges/{cid}", approve, methods=["POST"]),
        Route("/webauthn/ceremony", ceremony, methods=["POST"]),
        Route("/webauthn/renew", renew, methods=["POST"]),
        Route("/webauthn/subscription", subscribe, methods=["POST"]),
        Route("/webauthn/push-key", push_key),
    ]


def _subscription(value: Any, device_id: str, user_id: str) -> Subscription:
    """What PushManager.subscribe() gave the page (its toJSON()), checked."""
    keys = value.get("keys") if isinstance(value, dict) else None
    endpoint = value.get("endpoint") if isinstance(value, dict) else None
    if (
        not isinstance(endpoint, str)
        or not endpoint.startswith(("https://", "http://"))
        or len(endpoint) > MAX_ENDPOINT
        or not isinstance(keys, dict)
        or not _b64url(keys.get("p256dh"), 100)
        or not _b64url(keys.get("auth"), 40)
    ):
        raise bad_request(
            "invalid_subscription",
            "subscription must be PushSubscription.toJSON(): endpoint and keys p256dh, auth",
        )
    return Subscription(
        device_id=device_id,
        user_id=user_id,
        endpoint=endpoint,
        p256dh=str(keys["p256dh"]),
        auth=str(keys["auth"]),
        created_at=datetime.now().astimezone(),
    )


def _b64url(value: Any, longest: int) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    return isinstance(value, str) and 0 < len(value) <= longest and set(value) <= allowed
