"""The device API under /push/v1: JSON over HTTPS, every request a JWS signed by the device.

POST /push/v1/activate            body: JWS {code, csr, device, aud, iat, jti, htm, htu}
GET  /push/v1/challenge?wait=25   Authorization: SoftToken <JWS>; long-poll, 200 or 204
POST /push/v1/challenges/{cid}    body: JWS {cid, action, pictures, amr, …}
POST /push/v1/renew               body: JWS {csr, …} signed by the current key
GET  /push/v1/device              Authorization: SoftToken <JWS>; certificate status
GET  /push/v1/pictures/{nn}.svg   the 32 pictures;  GET /push/v1/openapi.json
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from push_auth import pictures, receipts
from push_auth.errors import PushError, bad_request, unauthorized
from push_auth.service import PushAuth

MAX_BODY = 16_384
MAX_WAIT = 25.0
OPENAPI = Path(__file__).resolve().parent / "openapi.json"
NO_STORE = {"Cache-Control": "no-store"}

Handler = Callable[[Request], Awaitable[Response]]


def json_errors(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except PushError as exc:
            return JSONResponse(exc.body(), status_code=exc.status, headers=NO_STORE)

    return wrapped


async def read_body(request: Request) -> str:
    declared = request.headers.get("content-length")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise PushError("request_too_large", "the body is over 16 KiB", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PushError("request_too_large", "the body is over 16 KiB", 413)
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise bad_request("invalid_request", "the body must be a compact JWS") from exc
    if not text:
        raise bad_request("invalid_request", "the body is empty: it must be a compact JWS")
    return text


def _header_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme != "SoftToken" or not token:
        raise unauthorized("send Authorization: SoftToken <signed request>")
    return token.strip()


def device_api(push: PushAuth) -> list[Route]:
    @json_errors
    async def activate(request: Request) -> Response:
        token = await read_body(request)
        result = await run_in_threadpool(push.activate, token, request.url.path)
        return JSONResponse(result, status_code=201, headers=NO_STORE)

    @json_errors
    async def challenge(request: Request) -> Response:
        device, _claims = await run_in_threadpool(
            push.authenticate,
            _header_token(request),
            "GET",
            request.url.path,
            poll_key_allowed=True,
        )
        try:
            wait = min(MAX_WAIT, max(0.0, float(request.query_params.get("wait", MAX_WAIT))))
        except ValueError:
            wait = MAX_WAIT
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        async with push.wakeup.listen(device.device_id) as woken:
            while True:
                token = await run_in_threadpool(push.pending_challenge_token, device)
                if token is not None:
                    return JSONResponse({"challenge": token}, headers=NO_STORE)
                remaining = deadline - loop.time()
                if remaining <= 0 or push.wakeup.draining:  # shutting down: come back later
                    return Response(status_code=204, headers=NO_STORE)
                woken.clear()
                with contextlib.suppress(TimeoutError):  # not wait_for: it can lose a cancel
                    async with asyncio.timeout(min(remaining, 5.0)):
                        await woken.wait()

    @json_errors
    async def answer(request: Request) -> Response:
        token = await read_body(request)
        device, claims = await run_in_threadpool(
            push.authenticate,
            token,
            "POST",
            request.url.path,
            allow_expired=True,
            poll_key_allowed=True,
        )
        if claims.get("_key") == "device":  # what the relying party can check later
            claims["_receipt"] = receipts.jws_receipt(
                token, device.certificate_pem, push.ca.certificate_for(device.certificate_pem)
            )
        result = await run_in_threadpool(push.answer, device, request.path_params["cid"], claims)
        return JSONResponse({"status": result.status}, headers=NO_STORE)

    @json_errors
    async def renew(request: Request) -> Response:
        token = await read_body(request)
        device, claims = await run_in_threadpool(
            push.authenticate, token, "POST", request.url.path, allow_expired=True
        )
        return JSONResponse(await run_in_threadpool(push.renew, device, claims), headers=NO_STORE)

    @json_errors
    async def status(request: Request) -> Response:
        device, _claims = await run_in_threadpool(
            push.authenticate,
            _header_token(request),
            "GET",
            request.url.path,
            allow_expired=True,
            poll_key_allowed=True,
        )
        return JSONResponse(
            {
                "device_id": device.device_id,
                "status": device.status,
                "not_after": int(device.not_after.timestamp()),
                "expired": device.not_after <= push.clock.now(),
                "renewal_pending": device.next_certificate_pem is not None,
            },
            headers=NO_STORE,
        )

    async def picture(request: Request) -> Response:
        match = re.fullmatch(r"(\d{2})\.svg", request.path_params["name"])
        if not match or int(match.group(1)) >= pictures.COUNT:  # JSON, like every API refusal
            refusal = PushError("not_found", "no such picture", 404)
            return JSONResponse(refusal.body(), status_code=404)
        svg = pictures.all_pictures()[int(match.group(1))].svg()
        return Response(
            svg,
            media_type="image/svg+xml",
            headers={
                "Cache-Control": "public, max-age=86400",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    async def openapi(request: Request) -> Response:
        return Response(OPENAPI.read_bytes(), media_type="application/json")

    async def picture_names(request: Request) -> Response:
        data = [{"id": p.id, "th": p.th, "en": p.en} for p in pictures.all_pictures()]
        return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")

    return [
        Route("/activate", activate, methods=["POST"]),
        Route("/challenge", challenge),
        Route("/challenges/{cid}", answer, methods=["POST"]),
        Route("/renew", renew, methods=["POST"]),
        Route("/device", status),
        Route("/pictures", picture_names),
        Route("/pictures/{name}", picture),
        Route("/openapi.json", openapi),
    ]
