# Multi-stage build: dependencies from the lock file in a builder, a slim non-root runtime.
FROM python:3.11-slim AS builder
WORKDIR /build
COPY requirements.lock pyproject.toml ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY idp ./idp
COPY push_auth ./push_auth
COPY admin_ui ./admin_ui
COPY softtoken_i18n ./softtoken_i18n
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv idp && mkdir -p /srv/conf /srv/var \
 && chown -R idp /srv/var
COPY --from=builder /opt/venv /opt/venv
COPY conf /srv/conf
WORKDIR /srv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 IDP_CONF_DIR=/srv/conf \
    IDP_SERVER__VAR_DIR=/srv/var IDP_DATABASE__URL=sqlite:////srv/var/idp.sqlite3 \
    IDP_SECURITY__MASTER_KEY_FILE=/srv/var/master.key IDP_SERVER__HOST=0.0.0.0
USER idp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
# `idp serve` is uvicorn with the application factory, as `uvicorn --factory` would run it, plus
# what the bare command line lacks: our logging (the access log without query strings, which
# carry codes), no proxy headers but those of server.trusted_proxies, migrations before start.
CMD ["idp", "serve"]
