#!/usr/bin/python3
# make.py: writes Authy's token stores in this directory with Python's
# cryptography and no code of Countersign's:
#
#   com.authy.storage.tokens.authenticator.xml            secrets in the clear
#   com.authy.storage.tokens.authenticator-encrypted.xml  secrets under the
#                                                         backup password PASSWORD
#   com.authy.storage.tokens.authy.xml                    Authy's own accounts
#
# Authy has no export. Its Android app keeps third-party tokens in the
# SharedPreferences file shared_prefs/com.authy.storage.tokens.authenticator.xml:
# one <string name="com.authy.storage.tokens.authenticator.key"> whose text is a
# JSON array of tokens {"accountType", "digits", "name", "originalName",
# "originalIssuer", "decryptedSecret" (base32), "timestamp", "logo", …}; when
# Authy's encrypted backups are on, each token holds "encryptedSecret" (base64)
# and "salt" instead: AES-256-CBC, a zero IV, PKCS#7 padding, under
# PBKDF2-HMAC-SHA1(backup password, salt as UTF-8, 1000 iterations, 256 bits),
# the plaintext being the base32 secret. Authy's own accounts are in
# com.authy.storage.tokens.authy.xml under "com.authy.storage.tokens.authy.key",
# each with a hex "secretSeed", codes of "digits" digits every 10 seconds.
# This is what Aegis reads (app/src/main/java/com/beemdevelopment/aegis/
# importers/AuthyImporter.java). The <boolean> element stands for the other
# preferences such a file may hold, which the import skips.
#
# Salts are fixed, so a rerun writes the same bytes. Needs Debian's
# python3-cryptography:
#
#	/usr/bin/python3 testdata/transfer/authy/make.py

import base64
import json
import os
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "Authy backup p\u00e4ss"  # "Authy backup päss"

SHA1_SECRET = base64.b32encode(b"12345678901234567890").decode().rstrip("=")

tokens = [
    # originalIssuer names the issuer.
    {"accountType": "github", "digits": 6, "name": "GitHub: alice@example.com", "originalName": "GitHub:alice@example.com",
     "originalIssuer": "GitHub", "decryptedSecret": SHA1_SECRET, "timestamp": 1700000000, "logo": "github"},
    # No originalIssuer: the prefix of originalName before ':'.
    {"accountType": "authenticator", "digits": 8, "name": "Example Bank:alice", "originalName": "Example Bank:alice",
     "decryptedSecret": SHA1_SECRET, "timestamp": 1700000001},
    # Neither: the prefix of name before " - ".
    {"accountType": "authenticator", "digits": 7, "name": "Corp VPN - bob", "originalName": "bob",
     "decryptedSecret": SHA1_SECRET, "timestamp": 1700000002},
    # Nothing but the account type.
    {"accountType": "dropbox", "digits": 6, "name": "carol@example.net", "originalName": "carol@example.net",
     "decryptedSecret": SHA1_SECRET, "timestamp": 1700000003},
]


def prefs(key, value):
    return ("<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
            '    <boolean name="some.other.preference" value="true" />\n'
            '    <string name="%s">%s</string>\n</map>\n' % (key, escape(value, {'"': "&quot;"})))


def write(name, key, value):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        f.write(prefs(key, json.dumps(value, separators=(",", ":"))))


AUTH_KEY = "com.authy.storage.tokens.authenticator.key"
write("com.authy.storage.tokens.authenticator.xml", AUTH_KEY, tokens)


def encrypt(secret, salt):
    key = PBKDF2HMAC(algorithm=hashes.SHA1(), length=32, salt=salt.encode(), iterations=1000).derive(PASSWORD.encode())
    padder = padding.PKCS7(128).padder()
    padded = padder.update(secret.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode()


encrypted = []
for i, t in enumerate(tokens):
    t = dict(t)
    salt = "countersignsalt%02d" % i
    t["encryptedSecret"] = encrypt(t.pop("decryptedSecret"), salt)
    t["salt"] = salt
    encrypted.append(t)
write("com.authy.storage.tokens.authenticator-encrypted.xml", AUTH_KEY, encrypted)

own = [{"name": "Twitch", "digits": 7, "secretSeed": b"12345678901234567890".hex(), "accountType": "authy",
        "uniqueId": "12345678"}]
write("com.authy.storage.tokens.authy.xml", "com.authy.storage.tokens.authy.key", own)
