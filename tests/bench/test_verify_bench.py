"""The verification benchmark's harness works: every measured path really verifies (and
rejects a tampered token), and a tiny run produces a complete report. No timing is asserted."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import jwt
import pyseto
import pytest
from cryptography.exceptions import InvalidSignature

import keys
from bench import verify_bench as vb


@pytest.fixture(scope="module")
def fx() -> vb.Fixture:
    return vb.build_fixture()


def test_the_baseline_verifies_exactly_the_bytes_the_spec_says_are_signed(fx):
    payload, signature = vb.split_text_key(fx.text_key)
    assert fx.message == b"licensesvc/key/v1\n" + payload
    assert vb.KEY_CONTEXT == keys.license.KEY_CONTEXT  # the spec's context, as implemented
    assert len(signature) == 64
    fx.ed25519_public.verify(signature, fx.message)
    # The payload alone (no context) is not what was signed.
    with pytest.raises(InvalidSignature):
        fx.ed25519_public.verify(signature, payload)


def test_every_path_carries_the_same_claims(fx):
    wire = fx.claims.to_dict()
    assert vb.verify_licensesvc(fx, fx.text_key) == fx.claims
    decoded_jwt = vb.verify_jwt(fx, fx.jwt_token)
    decoded_paseto = vb.verify_paseto(fx, fx.paseto_token)
    for decoded in (decoded_jwt, decoded_paseto):
        assert {name: decoded[name] for name in wire} == wire
        assert set(decoded) == set(wire) | {"nbf", "exp", "iat"}
    assert decoded_jwt["exp"] == int(fx.claims.expires_at.timestamp())
    assert decoded_paseto["exp"] == wire["expires_at"]


def test_the_timed_calls_are_the_verifying_calls(fx):
    for name, (function, args, kwargs) in vb.calls(fx).items():
        result = function(*args, **kwargs)
        if name == vb.LICENSESVC:
            assert result == fx.claims
        elif name == vb.PYJWT:
            assert result["serial"] == fx.claims.serial
        elif name == vb.PASETO:
            assert result.payload["serial"] == fx.claims.serial


def test_the_self_check_passes(fx):
    vb.self_check(fx)


def test_keys_verify_rejects_a_tampered_key(fx):
    with pytest.raises(keys.BadSignature):
        vb.verify_licensesvc(fx, vb.tamper_text_key(fx.text_key))
    # A changed payload (agents 25 -> 26, re-encoded canonically) is rejected as well.
    payload, signature = vb.split_text_key(fx.text_key)
    forged = payload.replace(b'"agents":25', b'"agents":26')
    assert forged != payload
    text = "LK1." + vb._b64url(forged) + "." + vb._b64url(signature)
    with pytest.raises(keys.BadSignature):
        vb.verify_licensesvc(fx, text)


def test_raw_verify_rejects_a_tampered_signature_or_message(fx):
    with pytest.raises(InvalidSignature):
        vb.verify_raw(fx, vb.flip_bit(fx.signature), fx.message)
    with pytest.raises(InvalidSignature):
        vb.verify_raw(fx, fx.signature, vb.flip_bit(fx.message, len(vb.KEY_CONTEXT) + 5))


def test_pyjwt_rejects_a_tampered_token(fx):
    with pytest.raises(jwt.InvalidSignatureError):
        vb.verify_jwt(fx, vb.tamper_jwt(fx.jwt_token))
    header, body, signature = fx.jwt_token.split(".")
    claims = vb.jwt_claims(fx.claims) | {"agents": 26}
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    with pytest.raises(jwt.InvalidSignatureError):
        vb.verify_jwt(fx, f"{header}.{forged_body.decode()}.{signature}")


def test_paseto_rejects_a_tampered_token(fx):
    with pytest.raises(pyseto.VerifyError):
        vb.verify_paseto(fx, vb.tamper_paseto(fx.paseto_token))
    # The message part flipped instead of the signature.
    body = vb.b64url_decode(fx.paseto_token[len(b"v4.public.") :].decode())
    forged = b"v4.public." + vb._b64url(vb.flip_bit(body, 3)).encode()
    with pytest.raises(pyseto.VerifyError):
        vb.verify_paseto(fx, forged)


def test_stage_calls_run(fx):
    decode, trusted, signature = (vb.stage_calls(fx)[name] for name in vb.STAGE_LABELS)
    assert decode[0](*decode[1], **decode[2]) == fx.claims
    assert set(trusted[0](*trusted[1], **trusted[2])) == {fx.claims.kid}
    assert signature[0](*signature[1], **signature[2]) == fx.public_key


def test_parse_importtime():
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:        10 |         10 |   _io\n"
        "import time:       120 |        300 | cryptography\n"
        "import time:        50 |         50 |     flask.json\n"
        "something else\n"
    )
    lines = vb.parse_importtime(stderr)
    assert [(line.module, line.depth, line.self_us, line.cumulative_us) for line in lines] == [
        ("_io", 1, 10, 10),
        ("cryptography", 0, 120, 300),
        ("flask.json", 2, 50, 50),
    ]
    assert vb.server_modules(lines) == ["flask.json"]


def test_baseline_process_verifies_and_rejects(fx, tmp_path):
    files = vb.write_process_files(fx, tmp_path)
    _, completed = vb.run_process(vb.baseline_command(files), tmp_path)
    assert completed.returncode == 0, completed.stderr
    _, completed = vb.run_process(vb.baseline_command(files, files.tampered_key_file), tmp_path)
    assert completed.returncode != 0
    assert "InvalidSignature" in completed.stderr


@pytest.fixture(scope="module")
def tiny_report() -> vb.Report:
    return vb.run(vb.TINY, command="tiny")


def test_a_tiny_run_measures_every_path_and_writes_a_complete_report(tiny_report, tmp_path):
    report = tiny_report
    assert set(report.in_process) == {vb.RAW, vb.LICENSESVC, vb.PYJWT, vb.PASETO}
    assert set(report.stages) == set(vb.STAGE_LABELS)
    for entry in [*report.in_process.values(), *report.stages.values()]:
        assert len(entry.ops_per_second) == vb.TINY.repeats
        assert all(value > 0 for value in entry.ops_per_second)
    process = report.process
    assert len(process.baseline_ms) == vb.TINY.process_runs
    assert process.baseline_imports
    if process.unavailable is None:
        assert len(process.licensesvc_ms) == vb.TINY.process_runs
        assert process.rejects_tampered is True
        assert process.licensesvc_imports

    markdown = vb.render_markdown(report)
    for needle in (
        "| measure | ops/s or ms | ratio to baseline | target | met? |",
        "## Machine",
        "cryptography",
        "tiny",
        "`keys.verify`",
        "PyJWT",
        "pyseto",
        "process",
    ):
        assert needle in markdown
    # Every row of the results table has its five cells.
    table = markdown.split("## Results")[1].split("\n\n")[1]
    for row in table.splitlines():
        assert row.count(" | ") + 2 == 6 or row.startswith("|---"), row


def test_a_missed_profile_is_rendered(fx, tiny_report):
    lines = vb.profile_verify(fx, 3)
    assert any(line.function.startswith("keys/") for line in lines)
    assert any("verify" in line.function for line in lines)
    markdown = vb.render_markdown(replace(tiny_report, profile=lines))
    assert "cProfile" in markdown and "by cumulative time" in markdown


def test_exit_status_only_fails_with_check(tiny_report):
    missed = replace(
        tiny_report,
        in_process={**tiny_report.in_process, vb.RAW: vb.Measurement(vb.RAW, 1, [1e12, 1e12])},
    )
    assert missed.targets()[vb.LICENSESVC].met is False
    assert vb.exit_status(missed, check=False) == 0
    assert vb.exit_status(missed, check=True) == 1


def test_an_unavailable_cli_is_reported_not_hidden(tiny_report):
    broken = replace(
        tiny_report,
        process=vb.ProcessResult(
            runs=1, baseline_ms=[1.0], unavailable="`licensesvc verify` failed: exit 2"
        ),
    )
    assert broken.targets()["process"].met is None
    assert vb.exit_status(broken, check=True) == 1
    assert "unavailable" in vb.render_markdown(broken)


def test_main_writes_only_where_told(monkeypatch, tmp_path, tiny_report):
    monkeypatch.setattr(vb, "run", lambda settings, command: replace(tiny_report, command=command))
    monkeypatch.setattr(vb, "DEFAULT_OUTPUT", tmp_path / "default.md")
    output = tmp_path / "performance.md"
    assert vb.main(["--quick", "--output", str(output)]) == 0
    assert "python -m bench.verify_bench --quick --output" in output.read_text()
    assert vb.main(["--quick"]) == 0  # prints only
    assert sorted(Path(tmp_path).iterdir()) == [output]
    assert vb.main([]) == 0  # a full run writes the default file
    assert (tmp_path / "default.md").read_text().startswith("# Performance")


def test_extra_imports_are_listed_parent_first_without_baseline_modules():
    ours = vb.parse_importtime(
        "import time:         5 |          5 |     re\n"
        "import time:        20 |         25 |   keys._encoding\n"
        "import time:        30 |         30 |   click\n"
        "import time:        40 |         95 | keys\n"
        "import time:         7 |          7 | cli.output\n"
    )
    baseline = vb.parse_importtime("import time:         5 |          5 | re\n")
    process = vb.ProcessResult(runs=1, licensesvc_imports=ours, baseline_imports=baseline)
    assert [line.module for line in vb.extra_imports(process)] == [
        "keys",
        "keys._encoding",
        "click",
        "cli.output",
    ]
