"""The deployment files in deploy/, checked without a cluster: the Kubernetes manifests against
the offline Kubernetes JSON schemas (kubernetes-validate, strict: no unknown fields), compose.yaml
against the official compose-spec JSON schema (as check-jsonschema vendors it) and by our own
structural checks (references, the Sentinels' quorum, nginx's address), the nginx template by
`nginx -t` with test certificates, the IdP settings both ship through the IdP's own settings
loader, and the Docker image built when a Docker engine answers."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from idp.settings import DEFAULT_CONF_DIR, load_settings
from tests.deploy.nginx_support import ROOT, write_config
from tests.e2e.test_token_login import make_pki, nginx_binary
from tests.live import free_port

__all__ = ["nginx_binary"]

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest version we support; the manifests use only GA kinds
KINDS = {
    "ConfigMap",
    "Secret",
    "Job",
    "Deployment",
    "Service",
    "Ingress",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
}
PLACEHOLDER_KEY = base64.urlsafe_b64encode(bytes(32)).decode()


def _manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _by_kind(kind: str) -> dict[str, Any]:
    [doc] = [doc for _, doc in _manifests() if doc["kind"] == kind]
    return doc


@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.latest_version()])
def test_kubernetes_manifests_are_valid(version: str) -> None:
    manifests = _manifests()
    assert {doc["kind"] for _, doc in manifests} == KINDS
    for path, doc in manifests:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{path.name} ({doc['kind']}): {exc.message}") from exc


def test_kustomization_names_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_kubernetes_probes_secrets_and_settings() -> None:
    deployment = _by_kind("Deployment")["spec"]
    [container] = deployment["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["command"] == ["idp", "serve"]
    [job] = _by_kind("Job")["spec"]["template"]["spec"]["containers"]
    assert job["command"] == ["idp", "migrate"]
    selector = deployment["selector"]["matchLabels"]
    assert _by_kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    assert _by_kind("Service")["spec"]["selector"] == selector
    assert (
        _by_kind("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"]
        == (_by_kind("Deployment")["metadata"]["name"])
    )
    secret = _by_kind("Secret")
    secret_keys = set(secret["stringData"])
    for env in container["env"] + job["env"]:
        if "valueFrom" in env:
            reference = env["valueFrom"]["secretKeyRef"]
            assert reference["name"] == secret["metadata"]["name"]
            assert reference["key"] in secret_keys
    master = secret["stringData"]["master-key"]  # a placeholder, never a usable key
    try:
        usable = len(base64.urlsafe_b64decode(master + "=" * (-len(master) % 4))) == 32
    except ValueError:
        usable = False
    assert not usable
    url = secret["stringData"]["database-url"]
    assert "target_session_attrs=read-write" in url
    assert len(re.findall(r"[?&]host=", url)) >= 2
    _loads(_by_kind("ConfigMap")["data"]["idp.toml"], url.replace("REPLACE-ME", "x"))


def _loads(toml_text: str, database_url: str) -> None:
    """The shipped settings pass the IdP's own loader (production checks included)."""
    tomllib.loads(toml_text)
    with_secrets = toml_text + f'\n[security]\nmaster_key = "{PLACEHOLDER_KEY}"\n'
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "idp.toml"
        file.write_text(with_secrets)
        settings = load_settings(
            files=[DEFAULT_CONF_DIR / "default.toml", file], database={"url": database_url}
        )
    assert settings.server.environment == "production"
    assert settings.server.trusted_proxies
    assert settings.store.kind == "sentinel"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def _compose_spec_errors(compose: dict[str, Any]) -> list[str]:
    """The compose-spec schema's complaints (the schema Docker Compose itself validates with)."""
    text = files("check_jsonschema.builtin_schemas").joinpath("vendor/compose-spec.json")
    schema = json.loads(text.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]


def test_compose_file_follows_the_compose_spec() -> None:
    assert _compose_spec_errors(_compose()) == []
    broken = _compose()
    broken["services"]["idp-1"]["restart_policy"] = "always"  # not a service key
    broken["services"]["nginx"]["depends_on"] = 5  # a list or a mapping
    assert len(_compose_spec_errors(broken)) >= 2


def test_compose_file_structure() -> None:
    compose = _compose()
    services = compose["services"]
    assert {
        "nginx",
        "idp-migrate",
        "idp-1",
        "idp-2",
        "postgres",
        "redis-primary",
        "redis-replica",
        "sentinel-1",
        "sentinel-2",
        "sentinel-3",
        "mailpit",
    } <= set(services)
    for name, service in services.items():
        assert "image" in service, name
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), name
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], (name, secret)
        for config in service.get("configs", []):
            assert config["source"] in compose["configs"], (name, config)
        for network in service.get("networks", []):
            assert network in compose["networks"], (name, network)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                continue  # checked below (tls/ is the operator's)
            assert source in compose["volumes"], (name, volume)
    for name in ("idp-1", "idp-2"):
        assert services[name]["command"] == ["idp", "serve"]
        assert services[name]["depends_on"]["idp-migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["idp-migrate"]["command"] == ["idp", "migrate"]
    assert "--replicaof" in services["redis-replica"]["command"]
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        script = " ".join(services[name]["entrypoint"])
        assert "sentinel monitor softtoken redis-primary 6379 2" in script
    # The files it names are in the repository (the secrets and tls/ are the operator's).
    assert (DEPLOY / "nginx" / "idp.conf.template").exists()
    assert (DEPLOY / compose["configs"]["idp_config"]["file"]).exists()
    assert (ROOT / services["idp-1"]["build"]["context"][1:].lstrip("/") / "Dockerfile").exists()
    # X-Forwarded-* are believed from nginx's fixed address, and from it only.
    nginx_address = services["nginx"]["networks"]["backend"]["ipv4_address"]
    assert services["nginx"]["environment"]["IDP_PROXY_SOURCE"] == nginx_address
    settings_text = (DEPLOY / compose["configs"]["idp_config"]["file"]).read_text()
    assert tomllib.loads(settings_text)["server"]["trusted_proxies"] == [nginx_address]
    template = (DEPLOY / "nginx" / "idp.conf.template").read_text()
    for variable in services["nginx"]["environment"]:
        assert "${" + variable + "}" in template
    _loads(settings_text, "postgresql+psycopg://idp:x@postgres/idp")


def test_nginx_template_passes_nginx_t(tmp_path: Path, nginx_binary: str) -> None:
    pki = make_pki(tmp_path)
    main = write_config(tmp_path, pki, free_port(), [free_port(), free_port()])
    checked = subprocess.run(
        [nginx_binary, "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    filled = (tmp_path / "idp.conf").read_text()
    [poll] = re.findall(r"location = /push/v1/challenge \{(.*?)\}", filled, re.S)
    timeout = re.search(r"proxy_read_timeout (\d+)s;", poll)
    assert timeout
    assert int(timeout.group(1)) >= 30


def test_docker_image_builds() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker command: the image build is checked where a Docker engine runs")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        pytest.skip(f"no Docker engine answers ({reason}): the image build is not checked here")
    built = subprocess.run(
        [docker, "build", "-t", "softtoken-idp:test", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    ran = subprocess.run(
        [docker, "run", "--rm", "softtoken-idp:test", "idp", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert "serve" in ran.stdout
