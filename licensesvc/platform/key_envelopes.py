"""The PKCS#8 envelope of stored private keys (the key-signing keys, licensesvc/issuance/
signing.py, and the transparency log's keys, licensesvc/transparency/log_keys.py):
`ENCRYPTED PRIVATE KEY` PEM (RFC 5958), PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC
(RFC 8018), as `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 600000` writes
it and any PKCS#8 reader reads it. cryptography's own writer (`BestAvailableEncryption`) uses
2,048 PBKDF2 iterations and has no knob for PKCS#8, so the envelope is written here."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# -- the PKCS#8 envelope ------------------------------------------------------------------

_OID_PBES2 = bytes.fromhex("06092a864886f70d01050d")  # 1.2.840.113549.1.5.13
_OID_PBKDF2 = bytes.fromhex("06092a864886f70d01050c")  # 1.2.840.113549.1.5.12
_OID_SCRYPT = bytes.fromhex("06092b06010401da47040b")  # 1.3.6.1.4.1.11591.4.11
_OID_HMAC_SHA256 = bytes.fromhex("06082a864886f70d0209")  # 1.2.840.113549.2.9
_OID_AES256_CBC = bytes.fromhex("060960864801650304012a")  # 2.16.840.1.101.3.4.1.42
_DER_NULL = b"\x05\x00"
_PEM_LABEL = "ENCRYPTED PRIVATE KEY"


def encrypt_private_key(private: Ed25519PrivateKey, passphrase: bytes, rounds: int) -> bytes:
    """Return private as PKCS#8 EncryptedPrivateKeyInfo PEM: PBES2, PBKDF2-HMAC-SHA256 with
    `rounds` iterations and a 16-byte salt, AES-256-CBC. Raises ValueError for an empty
    passphrase or fewer than 1,000 rounds."""
    if not passphrase:
        raise ValueError("a signing key is only stored encrypted, under a passphrase")
    if rounds < 1000:
        raise ValueError("fewer than 1,000 PBKDF2 rounds protect nothing")
    plain = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    kek = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=rounds).derive(
        passphrase
    )
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    pbkdf2_params = _seq(_octets(salt), _integer(rounds), _seq(_OID_HMAC_SHA256, _DER_NULL))
    algorithm = _seq(
        _OID_PBES2,
        _seq(_seq(_OID_PBKDF2, pbkdf2_params), _seq(_OID_AES256_CBC, _octets(iv))),
    )
    der = _seq(algorithm, _octets(ciphertext))
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (
        "\n".join([f"-----BEGIN {_PEM_LABEL}-----", *lines, f"-----END {_PEM_LABEL}-----"]) + "\n"
    ).encode("ascii")


@dataclass(frozen=True)
class Protection:
    """How a stored private key is protected: `kdf` ("pbkdf2-sha256", "pbkdf2-sha1",
    "scrypt", "unknown") and its iteration count (0 where it has none)."""

    kdf: str
    rounds: int

    @property
    def label(self) -> str:
        return f"{self.kdf} {self.rounds}" if self.rounds else self.kdf


def protection(encrypted_pem: bytes) -> Protection:
    """Return how encrypted_pem (PKCS#8 EncryptedPrivateKeyInfo PEM) is protected; never
    raises (an unreadable envelope is Protection("unknown", 0))."""
    try:
        body = b"".join(
            line.strip()
            for line in bytes(encrypted_pem).splitlines()
            if line.strip() and not line.startswith(b"-----")
        )
        der = base64.b64decode(body, validate=True)
        if _element(der, 0) != len(der):
            raise ValueError("trailing bytes")
        algorithm, _data = _children(der)  # EncryptedPrivateKeyInfo
        scheme_oid, params = _children(algorithm)
        if scheme_oid != _OID_PBES2:
            return Protection("unknown", 0)
        kdf, _cipher = _children(params)
        kdf_oid, kdf_params = _children(kdf)
        if kdf_oid != _OID_PBKDF2:
            return Protection("scrypt" if kdf_oid == _OID_SCRYPT else "unknown", 0)
        fields = _children(kdf_params)
        rounds = int.from_bytes(_content(fields[1]), "big")
        prf = _children(fields[-1])[0] if len(fields) > 2 and fields[-1][0] == 0x30 else None
        return Protection("pbkdf2-sha256" if prf == _OID_HMAC_SHA256 else "pbkdf2-sha1", rounds)
    except (ValueError, IndexError):
        return Protection("unknown", 0)


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _seq(*parts: bytes) -> bytes:
    return _der(0x30, b"".join(parts))


def _octets(data: bytes) -> bytes:
    return _der(0x04, data)


def _integer(n: int) -> bytes:
    return _der(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))  # a leading 0 keeps it positive


def _element(der: bytes, pos: int) -> int:
    """The end of the DER element starting at pos."""
    length = der[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("truncated DER")
    return end


def _content(element: bytes) -> bytes:
    """The content octets of one DER element."""
    length = element[1]
    header = 2 + (length & 0x7F if length & 0x80 else 0)
    return element[header:]


def _children(element: bytes) -> list[bytes]:
    """The elements inside one constructed DER element."""
    if not element[0] & 0x20:
        raise ValueError("not a constructed DER element")
    inner = _content(element)
    out = []
    pos = 0
    while pos < len(inner):
        end = _element(inner, pos)
        out.append(inner[pos:end])
        pos = end
    return out
