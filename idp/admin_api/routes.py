"""The admin API's routing table (mounted at /admin/api/v1; documented in openapi.json, which a
test keeps in step). Each resource's handlers live in a module of its name; every call is
authorised and audited with the officer's user ID (idp.admin_api.endpoint)."""

from __future__ import annotations

from starlette.routing import Route

from idp.admin_api import (
    audit,
    clients,
    dashboard,
    devices,
    keys,
    me,
    officers,
    openapi,
    passkeys,
    registrations,
    service_requests,
    uploads,
    users,
)


def admin_routes() -> list[Route]:
    return [
        Route("/openapi.json", openapi.openapi),
        # fixed paths before the {user_id}/{action} and {id}/{decision} patterns
        Route("/me", me.me),
        Route("/uploads", uploads.upload, methods=["POST"]),
        Route("/uploads/{sha256}", uploads.uploaded),
        Route("/dashboard", dashboard.dashboard),
        Route("/alerts", devices.alerts),
        Route("/registrations/{id}/assignment-order", registrations.assignment_order),
        Route("/registrations/{id}", registrations.detail),
        Route("/users/import", users.import_csv, methods=["POST"]),
        Route("/users/{user_id}", users.detail),
        Route("/users/{user_id}/passkeys", passkeys.list_all),
        Route("/users/{user_id}/passkeys/{credential_id}", passkeys.rename, methods=["PATCH"]),
        Route("/users/{user_id}/passkeys/{credential_id}", passkeys.remove, methods=["DELETE"]),
        Route("/users/{user_id}/reset-password", users.reset_password, methods=["POST"]),
        Route("/users/{user_id}/device/revoke", devices.revoke, methods=["POST"]),
        Route("/users/{user_id}/device/lift-suspension", devices.lift_suspension, methods=["POST"]),
        Route("/users/{user_id}/assignment-order", users.assignment_order, methods=["POST"]),
        Route("/users/{user_id}/sessions/end", users.end_sessions, methods=["POST"]),
        Route("/keys", keys.list_all),
        Route("/keys/rotate", keys.rotate, methods=["POST"]),
        Route("/clients/{id}", clients.edit, methods=["PATCH"]),
        Route("/clients/{id}", clients.delete, methods=["DELETE"]),
        Route("/clients/{id}/rotate-secret", clients.rotate_secret, methods=["POST"]),
        Route("/registrations", registrations.search),
        Route("/registrations/{id}/{decision:str}", registrations.decide, methods=["POST"]),
        Route("/users", users.search),
        Route("/users/{user_id}/{action:str}", users.set_disabled, methods=["POST"]),
        Route("/audit", audit.search),
        Route("/audit.csv", audit.csv_file),
        Route("/clients", clients.list_all),
        Route("/clients", clients.create, methods=["POST"]),
        Route("/officers", officers.search),
        Route("/officers/{user_id}/roles", officers.set_role, methods=["PUT", "DELETE"]),
        Route("/service-requests", service_requests.search),
        Route("/service-requests", service_requests.record, methods=["POST"]),
        Route("/service-requests/{id}", service_requests.show),
        Route("/service-requests/{id}/process", service_requests.process, methods=["POST"]),
    ]
