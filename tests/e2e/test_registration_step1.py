"""Registration step 1 through the hosted pages: national ID, PDPA consent, assignment order PDF."""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.domain import kept_files, national_id
from idp.storage.models import AuditEvent, Registration
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve

VALID_ID = national_id.with_check_digit("110170020345")


def _wizard(client: TestClient, user: support.Person) -> str:
    page = push_support.sign_in_to(client, "/register", user)
    assert page.status_code == 200, page.text
    return support.csrf_of(page.text)


def _submit(
    client: TestClient,
    csrf: str,
    nid: str = VALID_ID,
    consent: str = "yes",
    pdf: bytes | None = None,
    name: str = "order.pdf",
) -> httpx.Response:
    files = {
        "assignment_order": (
            name,
            pdf if pdf is not None else support.pdf_bytes(),
            "application/pdf",
        )
    }
    return client.post(
        "/register/identity",
        files=files,
        data={"csrf_token": csrf, "national_id": nid, "consent": consent},
    )


def _registration(services: support.Services, user_id: str) -> Registration:
    with services.db.read() as session:
        return session.scalars(select(Registration).where(Registration.user_id == user_id)).one()


def test_step1_records_identity_consent_and_the_pdf(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    csrf = _wizard(app_client, user)
    pdf = support.pdf_bytes()
    response = _submit(app_client, csrf, nid="1-1017-00203-45-" + VALID_ID[-1], pdf=pdf)
    assert response.status_code == 303
    registration = _registration(services, user.user_id)
    assert registration.national_id == VALID_ID
    assert registration.consent_version
    assert registration.consent_at
    assert registration.consent_ip
    assert registration.upload_size == len(pdf)
    stored = services.settings.var_path / "uploads" / f"{registration.upload_sha256}.pdf"
    assert stored.read_bytes() == pdf
    page = app_client.get("/register")
    assert "step-done" in page.text  # step 1 done, step 2 current


def test_bad_checksum_is_refused_and_nothing_is_saved(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    csrf = _wizard(app_client, user)
    wrong = VALID_ID[:12] + str((int(VALID_ID[12]) + 1) % 10)
    response = _submit(app_client, csrf, nid=wrong)
    assert response.status_code == 400
    assert "เลขตรวจสอบ" in response.text
    assert _registration(services, user.user_id).national_id is None


def test_a_national_id_registered_under_another_user_id_is_refused(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    holder = support.create_user(services)
    pid = support.approve_registration(services, holder.user_id)
    csrf = _wizard(app_client, user)
    response = _submit(app_client, csrf, nid=pid)
    assert response.status_code == 400
    assert "รหัสผู้ใช้อื่น" in response.text
    assert _registration(services, user.user_id).national_id is None


def test_declining_consent_stops_and_is_recorded(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    csrf = _wizard(app_client, user)
    response = _submit(app_client, csrf, consent="no")
    assert response.status_code == 400
    assert _registration(services, user.user_id).consent_at is None
    with services.db.read() as session:
        declined = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "registration.consent_declined",
                AuditEvent.subject == user.user_id,
            )
        ).all()
    assert len(declined) == 1


def test_not_a_pdf_or_empty_is_refused(app_client: TestClient, user: support.Person) -> None:
    csrf = _wizard(app_client, user)
    renamed = _submit(app_client, csrf, pdf=b"MZ\x90\x00 this is an executable", name="x.pdf")
    assert renamed.status_code == 400
    assert "PDF" in renamed.text
    fake = _submit(app_client, csrf, pdf=b"%PDF-1.7\nnot really a pdf")
    assert fake.status_code == 400
    empty = _submit(app_client, csrf, pdf=b"")
    assert empty.status_code == 400


def test_pdf_over_10_mb_is_cut_off_while_streaming(backend: Backend, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    user = support.create_user(app.state.ctx.services)
    sent = 0
    total = 40 * 1024 * 1024
    lock = threading.Lock()

    def body() -> object:
        nonlocal sent
        boundary_head = (
            b'--b\r\nContent-Disposition: form-data; name="assignment_order"; '
            b'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n'
        )
        yield boundary_head
        chunk = b"0" * 65536
        while sent < total:
            with lock:
                sent += len(chunk)
            yield chunk
        yield b"\r\n--b--\r\n"

    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        _wizard_csrf = push_support.sign_in_to(browser, "/register", user)
        assert _wizard_csrf.status_code == 200
        try:
            response = browser.post(
                "/register/identity",
                content=body(),
                headers={"content-type": "multipart/form-data; boundary=b"},
            )
            status = response.status_code
        except httpx.HTTPError:
            status = 413  # the server closed the connection after answering
    assert status == 413
    assert sent < 20 * 1024 * 1024  # far from the 40 MB offered


def _pdfs(folder: Path) -> set[Path]:
    return set(folder.glob("*.pdf")) if folder.is_dir() else set()


def _kept_token(page: str) -> str | None:
    match = re.search(r'name="kept_upload" value="([^"]+)"', page)
    return match.group(1) if match else None


def test_a_refused_step_keeps_the_entries_and_one_file(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    """Issue #16: a refused step 1 shows the national ID and the consent again and keeps the
    chosen PDF server-side, named by a token on the page, so the next try needs no new choice.
    Issue #11, item 10: a file replaced at a later try is removed at once."""
    csrf = _wizard(app_client, user)
    folder = services.settings.var_path / "uploads"
    before = _pdfs(folder)
    refusals = (("1101700203451", "yes", "เลขตรวจสอบ"), (VALID_ID, "no", "ความยินยอม"))
    for nid, consent, why in refusals:  # the PDF is good; the step is refused for another reason
        pdf = support.pdf_bytes() + secrets.token_bytes(8)  # a file of its own each time
        refused = _submit(app_client, csrf, nid=nid, consent=consent, pdf=pdf, name="คำสั่ง 1.pdf")
        assert refused.status_code == 400
        assert why in refused.text
        assert f'value="{nid}"' in refused.text
        assert re.search(rf'value="{consent}" (required )?checked', refused.text)
        assert "ไฟล์ที่แนบไว้ในครั้งก่อน:" in refused.text
        assert "<strong>คำสั่ง 1.pdf</strong>" in refused.text
    assert [p.read_bytes() for p in _pdfs(folder) - before] == [pdf]  # the last one only
    token = _kept_token(refused.text)
    assert token is not None
    assert 'name="password"' not in refused.text

    empty = {"assignment_order": ("", b"", "application/octet-stream")}  # no new choice
    forged = app_client.post(
        "/register/identity",
        files=empty,
        data={"csrf_token": csrf, "national_id": VALID_ID, "consent": "yes", "kept_upload": "x"},
    )
    assert forged.status_code == 400
    assert "กรุณาแนบหนังสือมอบหมายเป็นไฟล์ PDF" in forged.text
    accepted = app_client.post(
        "/register/identity",
        files=empty,
        data={"csrf_token": csrf, "national_id": VALID_ID, "consent": "yes", "kept_upload": token},
    )
    assert accepted.status_code == 303
    digest = _registration(services, user.user_id).upload_sha256
    assert (folder / f"{digest}.pdf").read_bytes() == pdf


def test_a_file_the_store_cannot_name_is_not_kept(
    app_client: TestClient,
    user: support.Person,
    services: support.Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The expiring store is down when the refused try's file should be named: the file goes
    (nothing would name it) and the page asks for it again; the national ID stays."""
    csrf = _wizard(app_client, user)
    folder = services.settings.var_path / "uploads"
    before = _pdfs(folder)
    put = services.store.put

    def failing(key: str, value: dict[str, object], ttl: int) -> None:
        if key.startswith("pending-upload:"):
            raise redis.exceptions.ConnectionError("down")
        put(key, value, ttl)

    monkeypatch.setattr(services.store, "put", failing)
    pdf = support.pdf_bytes() + secrets.token_bytes(8)
    refused = _submit(app_client, csrf, nid="1101700203451", pdf=pdf)
    assert refused.status_code == 400
    assert _kept_token(refused.text) is None
    assert 'value="1101700203451"' in refused.text
    assert _pdfs(folder) == before


def test_the_job_removes_old_files_that_nothing_names(services: support.Services) -> None:
    folder = kept_files.folder_of(services.settings)
    folder.mkdir(parents=True, exist_ok=True)
    orphan, fresh = folder / ("a" * 64 + ".pdf"), folder / ("b" * 64 + ".pdf")
    for path in (orphan, fresh):
        path.write_bytes(b"%PDF-")
    old = time.time() - kept_files.ORPHAN_AGE - 60
    os.utime(orphan, (old, old))
    with services.db.read() as session:
        assert kept_files.forget_orphans(session, folder) == 1
    assert not orphan.exists()
    assert fresh.exists()  # an officer's upload may still be named by its request
