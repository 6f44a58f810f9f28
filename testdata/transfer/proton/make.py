#!/usr/bin/python3
# make.py: writes proton-authenticator.json, a Proton Authenticator export,
# with Python's standard library and no code of Countersign's.
#
# Proton Authenticator's export is serde_json's compact output of
# AuthenticatorEntriesExport in github.com/protonpass/proton-pass-common,
# proton-authenticator/src/entry/exporter.rs: {"version":1,"entries":[{"id",
# "content":{"uri","entry_type":"Totp"|"Steam","name"},"note"}]}; a TOTP
# entry's uri is its otpauth:// URI (TOTP::to_uri), a Steam entry's is
# steam://SECRET (steam/mod.rs), and note is null when there is none.
#
# It also writes proton-authenticator-encrypted.json, the same export
# protected with the password PASSWORD, as entry/password_exporter.rs writes
# it: {"version":1,"salt":base64,"content":base64}, the salt 16 bytes, the key
# Argon2id v1.3 (19 MiB, 2 passes, 1 lane, 32 bytes), content the 12-byte
# nonce followed by AES-256-GCM ciphertext and tag (crypto.rs encrypt), with
# the additional data "proton.authenticator.export.v1"
# (EncryptionTag::PasswordExport, as independent readers of the format use it).
# Salt and nonce are fixed, so a rerun writes the same bytes. Needs Debian's
# python3-cryptography (44 or later, for Argon2id):
#
#	/usr/bin/python3 testdata/transfer/proton/make.py

import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

HERE = os.path.dirname(os.path.abspath(__file__))


def b32(raw):
    return base64.b32encode(raw).decode().rstrip("=")


entries = [
    {"id": "8c2d7f0e-1a4b-4c55-9a61-3b7e2f9d0a11",
     "content": {"uri": "otpauth://totp/alice%%40example.com?secret=%s&issuer=GitHub&algorithm=SHA1&digits=6&period=30"
                 % b32(b"12345678901234567890"), "entry_type": "Totp", "name": "alice@example.com"},
     "note": "Recovery codes are in the safe"},
    {"id": "0f5e9b1c-77a2-4e0d-8b3c-5d6e7f8a9b0c",
     "content": {"uri": "otpauth://totp/bob?secret=%s&issuer=Corp%%20VPN&algorithm=SHA512&digits=8&period=30"
                 % b32(b"1234567890123456789012345678901234567890123456789012345678901234"),
                 "entry_type": "Totp", "name": "bob"},
     "note": None},
    {"id": "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d",
     "content": {"uri": "steam://BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA", "entry_type": "Steam", "name": "dave"},
     "note": None},
]
plain = json.dumps({"version": 1, "entries": entries}, separators=(",", ":"), ensure_ascii=False)
with open(os.path.join(HERE, "proton-authenticator.json"), "w", encoding="utf-8") as f:
    f.write(plain)

PASSWORD = "Proton p\u00e4ssw\u00f6rd \u2713"  # "Proton pässwörd ✓"
salt = hashlib.sha256(b"countersign proton sample salt").digest()[:16]
nonce = hashlib.sha256(b"countersign proton sample nonce").digest()[:12]
key = Argon2id(salt=salt, length=32, iterations=2, lanes=1, memory_cost=19 * 1024).derive(PASSWORD.encode())
content = nonce + AESGCM(key).encrypt(nonce, plain.encode(), b"proton.authenticator.export.v1")
with open(os.path.join(HERE, "proton-authenticator-encrypted.json"), "w", encoding="utf-8") as f:
    f.write(json.dumps({"version": 1, "salt": base64.b64encode(salt).decode(),
                        "content": base64.b64encode(content).decode()}, separators=(",", ":")))
