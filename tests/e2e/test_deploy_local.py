"""scripts/deploy-local.sh follows docs/deployment.md on this machine (PostgreSQL, Redis, two
gunicorn app servers, nginx in front) and checks a key request, a verify, a rate-limit hit and
both servers' metrics; it must pass and leave nothing running."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.e2e_helpers import ROOT, free_port

pytestmark = pytest.mark.e2e


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        message = f"{tool} is missing (bash scripts/ensure-services.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _our_processes() -> set[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return {line for line in out.splitlines() if "lsvc-deploy." in line}


def test_deploy_local_script_passes_and_cleans_up() -> None:
    for tool in ("nginx", "redis-server", "curl", "pg_isready"):
        _require(tool)
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        message = "PostgreSQL is not running on 127.0.0.1:5432"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    run = subprocess.run(
        ["bash", "scripts/deploy-local.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for check in (
        "key request granted through nginx",
        "the new key verifies through nginx",
        "met the shared rate limit (429 rate_limited, Retry-After)",
        "HSTS at the TLS terminator",
        "1 replacement key",
        "all checks passed",
    ):
        assert check in run.stdout, run.stdout
    assert not _our_processes(), "deploy-local.sh left processes running"


def test_the_tls_terminator_sends_hsts_on_every_answer(tmp_path: Path) -> None:
    """Issue 24, finding 17: deploy/nginx.conf as it stands (a throwaway certificate, no app
    server behind it) answers over HTTPS with Strict-Transport-Security, on an error too."""
    _require("nginx")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tls_port, plain_port, dead_port = free_port(), free_port(), free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for placeholder, value in {
        "@RUN_DIR@": str(tmp_path),
        "@LISTEN_PORT@": str(plain_port),
        "@TLS_PORT@": str(tls_port),
        "@TLS_CERT@": str(tmp_path / "tls.crt"),
        "@TLS_KEY@": str(tmp_path / "tls.key"),
        "@APP1_PORT@": str(dead_port),
        "@APP2_PORT@": str(dead_port),
    }.items():
        conf = conf.replace(placeholder, value)
    assert not re.search(r"@[A-Z0-9_]+@;", conf)  # every placeholder in use is filled
    (tmp_path / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen(
        ["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    warnings.simplefilter("ignore")  # verify=False: the throwaway certificate is self-signed
    try:
        answer = None
        for _ in range(50):
            try:
                answer = requests.get(
                    f"https://127.0.0.1:{tls_port}/healthz", verify=False, timeout=2
                )
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 502  # no app server behind it
        assert answer.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
        metrics = requests.get(f"https://127.0.0.1:{tls_port}/metrics", verify=False, timeout=5)
        assert metrics.status_code == 404 and "Strict-Transport-Security" in metrics.headers
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
