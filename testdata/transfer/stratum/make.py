#!/usr/bin/python3
# make.py: writes the Stratum (Authenticator Pro) samples in this directory
# with Python's cryptography and no code of Countersign's:
#
#   stratum-plain.json       "Export > Unencrypted (JSON)"
#   stratum-encrypted.stratum the encrypted backup (password PASSWORD)
#   authpro-legacy.authpro    an encrypted backup from before 2022 (same password)
#
# The JSON follows doc/BACKUP_FORMAT.md of github.com/jamie-mh/AuthenticatorPro
# (Type 1 HOTP, 2 TOTP, 4 Steam; Algorithm 0 SHA1, 1 SHA256, 2 SHA512; the
# secret in upper-case base32; a category's Id is the first 8 hex digits of
# SHA-1 of its name; AuthenticatorCategories binds a category to an
# authenticator by its secret), written the way Newtonsoft.Json writes it
# (compact, "Pin": null). The encryption follows the app's
# StrongBackupEncryption.cs (namespace AuthenticatorPro.Core.Backup.Encryption),
# its Python backup decryption tool and Aegis's StratumImporter.java (which
# also reads the legacy layout): "AUTHENTICATORPRO", a 16-byte salt, a 12-byte
# IV, AES-256-GCM (tag last) under Argon2id(password, salt, t=3, m=64 MiB,
# p=4, 32 bytes); legacy: "AuthenticatorPro", a 20-byte salt, a 16-byte IV,
# AES-256-CBC with PKCS#7 padding under PBKDF2-HMAC-SHA1(password, salt,
# 64000, 32 bytes).
#
# Salts and IVs are fixed, so a rerun writes the same bytes. Needs Debian's
# python3-cryptography (44 or later, for Argon2id):
#
#	/usr/bin/python3 testdata/transfer/stratum/make.py

import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "Stratum \u00e9t\u00e9 \U0001f510"  # "Stratum été 🔐"


def b32(raw):
    return base64.b32encode(raw).decode().rstrip("=")


def fixed(label, n):
    return hashlib.sha256(("countersign stratum sample " + label).encode()).digest()[:n]


def category(name):
    return hashlib.sha1(name.encode()).hexdigest()[:8]


SHA1_SECRET = b32(b"12345678901234567890")
SHA256_SECRET = b32(b"12345678901234567890123456789012")
STEAM_SECRET = "BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA"


def auth(typ, issuer, username, secret, algorithm, digits, period, counter, ranking):
    return {"Type": typ, "Icon": None, "Issuer": issuer, "Username": username, "Secret": secret, "Pin": None,
            "Algorithm": algorithm, "Digits": digits, "Period": period, "Counter": counter, "Ranking": ranking,
            "CopyCount": 0}


backup = {
    "Authenticators": [
        auth(2, "GitHub", "alice@example.com", SHA1_SECRET, 0, 6, 30, 0, 0),
        auth(2, "Example Bank", "alice", SHA256_SECRET, 1, 8, 30, 0, 1),
        auth(1, "Acme", "carol", SHA1_SECRET + "====", 0, 6, 30, 7, 2),
        auth(4, "Steam", "dave", STEAM_SECRET, 0, 5, 30, 0, 3),
        auth(2, "Nextcloud", None, SHA1_SECRET, 0, 8, 30, 0, 4),
    ],
    "Categories": [
        {"Id": category("Work"), "Name": "Work", "Ranking": 0},
        {"Id": category("Money"), "Name": "Money", "Ranking": 1},
    ],
    "AuthenticatorCategories": [
        {"CategoryId": category("Work"), "AuthenticatorSecret": SHA1_SECRET, "Ranking": 0},
        {"CategoryId": category("Money"), "AuthenticatorSecret": SHA256_SECRET, "Ranking": 0},
        {"CategoryId": category("Work"), "AuthenticatorSecret": SHA256_SECRET, "Ranking": 1},
    ],
    "CustomIcons": [],
}
plain = json.dumps(backup, separators=(",", ":"), ensure_ascii=False).encode()
with open(os.path.join(HERE, "stratum-plain.json"), "wb") as f:
    f.write(plain)

salt, iv = fixed("salt", 16), fixed("iv", 12)
key = Argon2id(salt=salt, length=32, iterations=3, lanes=4, memory_cost=65536).derive(PASSWORD.encode())
with open(os.path.join(HERE, "stratum-encrypted.stratum"), "wb") as f:
    f.write(b"AUTHENTICATORPRO" + salt + iv + AESGCM(key).encrypt(iv, plain, None))

salt, iv = fixed("legacy salt", 20), fixed("legacy iv", 16)
key = PBKDF2HMAC(algorithm=hashes.SHA1(), length=32, salt=salt, iterations=64000).derive(PASSWORD.encode())
padder = padding.PKCS7(128).padder()
padded = padder.update(plain) + padder.finalize()
enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
with open(os.path.join(HERE, "authpro-legacy.authpro"), "wb") as f:
    f.write(b"AuthenticatorPro" + salt + iv + enc.update(padded) + enc.finalize())
