#!/usr/bin/python3
# make.py: writes andOTP's encrypted backups in this directory with Python's
# cryptography and no code of Countersign's (password PASSWORD):
#
#   andotp-encrypted.json.aes      the layout of newer andOTP versions
#   andotp-encrypted-old.json.aes  the layout before it
#
# andOTP (github.com/andOTP/andOTP, Utilities/BackupHelper.java and
# EncryptionHelper.java; Aegis reads both in AndOtpImporter.java) encrypts its
# plain-text backup, a JSON array of entries, with AES-256-GCM. In newer
# versions the file starts with the PBKDF2 iteration count as a 4-byte
# big-endian integer (andOTP draws it at random), then a 12-byte salt, then a
# 12-byte nonce, then the ciphertext with the 16-byte tag last, the key being
# PBKDF2-HMAC-SHA1(password, salt, iterations, 256 bits).
# Older versions wrote the nonce and the ciphertext alone, under
# SHA-256(password) (EncryptionHelper.generateSymmetricKeyFromPassword).
#
# Salt and nonces are fixed, so a rerun writes the same bytes. Needs Debian's
# python3-cryptography:
#
#	/usr/bin/python3 testdata/transfer/andotp/make.py

import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "andOTP s\u00e4mple p\u00e4ssword"  # "andOTP sämple pässword"
ITERATIONS = 147_331


def b32(raw):
    return base64.b32encode(raw).decode()  # andOTP writes padded base32


def fixed(label, n):
    return hashlib.sha256(("countersign andotp sample " + label).encode()).digest()[:n]


entries = [
    {"secret": b32(b"12345678901234567890"), "issuer": "GitHub", "label": "alice@example.com", "digits": 6,
     "type": "TOTP", "algorithm": "SHA1", "thumbnail": "Default", "last_used": 0, "used_frequency": 0,
     "period": 30, "tags": ["Work"]},
    {"secret": b32(b"1234567890123456789012345678901234567890123456789012345678901234"), "issuer": "Corp VPN",
     "label": "bob", "digits": 8, "type": "TOTP", "algorithm": "SHA512", "thumbnail": "Default", "last_used": 0,
     "used_frequency": 0, "period": 30, "tags": []},
    {"secret": b32(b"12345678901234567890"), "issuer": "Acme", "label": "carol", "digits": 6, "type": "HOTP",
     "algorithm": "SHA1", "thumbnail": "Default", "last_used": 0, "used_frequency": 0, "counter": 7, "tags": []},
    {"secret": "BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA", "issuer": "Steam", "label": "dave", "digits": 5,
     "type": "STEAM", "algorithm": "SHA1", "thumbnail": "Default", "last_used": 0, "used_frequency": 0,
     "period": 30, "tags": ["Games"]},
]
plain = json.dumps(entries, separators=(",", ":")).encode()

salt, nonce = fixed("salt", 12), fixed("nonce", 12)
key = PBKDF2HMAC(algorithm=hashes.SHA1(), length=32, salt=salt, iterations=ITERATIONS).derive(PASSWORD.encode())
with open(os.path.join(HERE, "andotp-encrypted.json.aes"), "wb") as f:
    f.write(struct.pack(">I", ITERATIONS) + salt + nonce + AESGCM(key).encrypt(nonce, plain, None))

nonce = fixed("old nonce", 12)
key = hashlib.sha256(PASSWORD.encode()).digest()
with open(os.path.join(HERE, "andotp-encrypted-old.json.aes"), "wb") as f:
    f.write(nonce + AESGCM(key).encrypt(nonce, plain, None))
