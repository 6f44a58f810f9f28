#!/usr/bin/python3
# make-encrypted.py: writes aegis-encrypted-independent.json and
# 2fas-encrypted-independent.2fas in this directory, password-encrypted the way
# each app publishes its format, with no code of Countersign's. The importer's
# tests (internal/transfer) open them, so its decryptor is checked against an
# implementation other than its own.
#
# Aegis follows docs/vault.md of github.com/beemdevelopment/Aegis ("Aegis
# Vault"): a random 256-bit master key encrypts the content with AES-256-GCM
# (96-bit nonce; nonce and tag in hex in header.params, the ciphertext in
# base64 with padding in "db"); every credential has a slot holding the master
# key wrapped with AES-256-GCM (hex "key", "key_params" {nonce, tag}); a
# password slot (type 1) derives its wrapping key with scrypt(password, 256-bit
# salt, N=2^15, r=8, p=1) and stores n, r, p and the hex salt; a biometric slot
# (type 2) is a raw slot whose key lives in the Android KeyStore. The content is
# {"version", "entries", "groups"}, an entry {"type", "uuid", "name", "issuer",
# "note", "favorite", "icon", "info", "groups"}, the secret in base32 without
# padding. Also followed: docs/decrypt.py (the reference reader: slot key and
# tag are concatenated before decryption; the password is UTF-8), and Aegis's
# own test vault app/src/test/resources/.../importers/aegis_encrypted.json
# (4-space indents, "repaired", and every "/" written "\/" as Android's
# org.json does).
#
# 2FAS has no format document; its published source is the specification.
# From github.com/twofas/2fas-android: BackupContent.kt (the top-level fields in
# their order, the Reference constant), BackupRepositoryImpl.kt (only the
# services list is encrypted, as JSON; groups stay in clear; "services" is
# then []), BackupService.kt (a service's fields), core/cipher BackupCipherImpl
# (one salt for services and reference, each with its own IV),
# BackupKeyGeneratorPbkdf (PBKDF2WithHmacSHA256, 10,000 iterations, 256-bit
# key), BackupSaltGeneratorRandom (a 256-byte salt), CipherAes
# (AES/GCM/NoPadding: a 12-byte IV, the 16-byte tag after the ciphertext) and
# DataEncrypted ("base64(ciphertext+tag):base64(salt):base64(iv)"). Kotlin
# serialization writes compact JSON and leaves null fields out.
#
# Every key, salt, nonce and IV is fixed (fixed() below), so a rerun writes the
# same bytes. Needs Debian's python3-cryptography:
#
#	/usr/bin/python3 testdata/transfer/make-encrypted.py

import base64
import hashlib
import json
import os
import sys

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
except ImportError:
    sys.exit("make-encrypted: the cryptography module is missing: apt-get install python3-cryptography")

HERE = os.path.dirname(os.path.abspath(__file__))

# The passwords; the tests in internal/transfer hold the same ones.
AEGIS_PASSWORD = "correct horse battery staple"
AEGIS_BACKUP_PASSWORD = "Gr\u00fc\u00dfe aus K\u00f6ln \U0001f511"  # "Grüße aus Köln 🔑"
TWOFAS_PASSWORD = "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144"  # "Zażółć gęślą jaźń"

# The secrets of RFC 4226 Appendix D and RFC 6238 Appendix B, so that the
# tests can check codes against the RFCs' tables.
RFC_SECRET_20 = b"12345678901234567890"
RFC_SECRET_32 = b"12345678901234567890123456789012"
RFC_SECRET_64 = b"1234567890123456789012345678901234567890123456789012345678901234"
STEAM_SECRET = base64.b32decode("BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA")

# BackupContent.Reference in 2fas-android.
TWOFAS_REFERENCE = (
    "tRViSsLKzd86Hprh4ceC2OP7xazn4rrt4xhfEUbOjxLX8Rc3mkISXE0lWbmnWfggogbBJhtYgpK6fMl1D6m"
    "tsy92R3HkdGfwuXbzLebqVFJsR7IZ2w58t938iymwG4824igYy1wi6n2WDpO1Q1P69zwJGs2F5a1qP4MyIiDSD7NCV2OvidX"
    "QCBnDlGfmz0f1BQySRkkt4ryiJeCjD2o4QsveJ9uDBUn8ELyOrESv5R5DMDkD4iAF8TXU7KyoJujd"
)


def fixed(label, n):
    """n bytes drawn from the label, standing in for the apps' SecureRandom."""
    return hashlib.shake_256(b"countersign sample: " + label.encode()).digest(n)


def b32(secret):
    return base64.b32encode(secret).decode().rstrip("=")


def b64(data):
    return base64.b64encode(data).decode()


def gcm_seal(key, nonce, plaintext):
    """AES-256-GCM with no associated data: (ciphertext, tag)."""
    assert len(key) == 32 and len(nonce) == 12
    sealed = AESGCM(key).encrypt(nonce, plaintext, None)
    return sealed[:-16], sealed[-16:]


def org_json(value, indent=None):
    """JSON as Android's org.json writes it: raw UTF-8, "/" escaped."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators).replace("/", "\\/")


def aegis_entry(kind, n, name, issuer, info, note="", favorite=False, groups=()):
    return {
        "type": kind,
        "uuid": "5d0c5e8a-6f1b-4c3e-9a2d-00000000000%d" % n,
        "name": name,
        "issuer": issuer,
        "note": note,
        "favorite": favorite,
        "icon": None,
        "info": info,
        "groups": list(groups),
    }


def aegis_vault():
    work = "b1a2c3d4-e5f6-4a1b-8c2d-3e4f5a6b7c01"
    travel = "b1a2c3d4-e5f6-4a1b-8c2d-3e4f5a6b7c02"
    content = {
        "version": 3,
        "entries": [
            aegis_entry("totp", 1, "frank@example.org", "GitLab",
                        {"secret": b32(RFC_SECRET_20), "algo": "SHA1", "digits": 6, "period": 30},
                        note="Codes: https://gitlab.example.org/-/profile/two_factor_auth", favorite=True,
                        groups=[work]),
            aegis_entry("totp", 2, "zo\u00eb", "B\u00fccherei M\u00fcnchen",
                        {"secret": b32(RFC_SECRET_32), "algo": "SHA256", "digits": 8, "period": 30},
                        groups=[work, travel]),  # Aegis keeps them in a TreeSet<UUID>: sorted
            aegis_entry("totp", 3, "grace", "Proton",
                        {"secret": b32(RFC_SECRET_64), "algo": "SHA512", "digits": 8, "period": 30}),
            aegis_entry("hotp", 4, "heidi", "Yubico",
                        {"secret": b32(RFC_SECRET_20), "algo": "SHA1", "digits": 6, "counter": 5}),
            aegis_entry("steam", 5, "ivan", "Steam",
                        {"secret": b32(STEAM_SECRET), "algo": "SHA1", "digits": 5, "period": 30}),
        ],
        "groups": [{"uuid": work, "name": "Work"}, {"uuid": travel, "name": "Travel"}],
        "icons_optimized": True,
    }

    master_key = fixed("aegis master key", 32)
    db, tag = gcm_seal(master_key, fixed("aegis db nonce", 12), org_json(content).encode("utf-8"))

    def password_slot(n, password, is_backup):
        salt = fixed("aegis slot salt %d" % n, 32)
        kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
        key = kdf.derive(password.encode("utf-8"))
        nonce = fixed("aegis slot nonce %d" % n, 12)
        wrapped, key_tag = gcm_seal(key, nonce, master_key)
        return {
            "type": 1,
            "uuid": "7e3f1c2a-9b8d-4e6f-a1b2-00000000000%d" % n,
            "key": wrapped.hex(),
            "key_params": {"nonce": nonce.hex(), "tag": key_tag.hex()},
            "n": 32768,
            "r": 8,
            "p": 1,
            "salt": salt.hex(),
            "repaired": True,
            "is_backup": is_backup,
        }

    # The biometric slot's key is in a phone's KeyStore; here it is just a key
    # no password derives.
    bio_nonce = fixed("aegis biometric nonce", 12)
    bio_wrapped, bio_tag = gcm_seal(fixed("aegis biometric key", 32), bio_nonce, master_key)
    vault = {
        "version": 1,
        "header": {
            "slots": [
                {
                    "type": 2,
                    "uuid": "7e3f1c2a-9b8d-4e6f-a1b2-000000000000",
                    "key": bio_wrapped.hex(),
                    "key_params": {"nonce": bio_nonce.hex(), "tag": bio_tag.hex()},
                },
                password_slot(1, AEGIS_PASSWORD, False),
                password_slot(2, AEGIS_BACKUP_PASSWORD, True),
            ],
            "params": {"nonce": fixed("aegis db nonce", 12).hex(), "tag": tag.hex()},
        },
        "db": b64(db),
    }
    return org_json(vault, indent=4) + "\n"


def twofas_service(name, secret, position, otp, group=None):
    service = {
        "name": name,
        "secret": secret,
        "updatedAt": 1730000000000 + position,
        "otp": otp,
        "order": {"position": position},
        "icon": {
            "selected": "Label",
            "label": {"text": name[:2].upper(), "backgroundColor": "Default"},
            "iconCollection": {"id": "a5b3fb65-4ec5-43e6-8ec1-49e24ca9e7ad"},
        },
    }
    if group is not None:
        service["groupId"] = group
    return service


def twofas_backup():
    personal = "4f2d8c1e-7a6b-4c5d-9e8f-0a1b2c3d4e01"
    services = [
        # A service renamed in the app: the name is what 2FAS shows.
        twofas_service("Dropbox (work)", b32(RFC_SECRET_20), 0, {
            "link": "otpauth://totp/Dropbox:judy%40example.net?secret=" + b32(RFC_SECRET_20) + "&issuer=Dropbox",
            "label": "Dropbox:judy@example.net", "account": "judy@example.net", "issuer": "Dropbox",
            "digits": 6, "period": 30, "algorithm": "SHA1", "tokenType": "TOTP", "source": "Link"}),
        twofas_service("Caf\u00e9 Z\u00fcrich", b32(RFC_SECRET_32), 1, {
            "label": "kai", "account": "kai", "issuer": "Caf\u00e9 Z\u00fcrich",
            "digits": 8, "period": 30, "algorithm": "SHA256", "tokenType": "TOTP", "source": "Manual"},
            group=personal),
        twofas_service("Nextcloud", b32(RFC_SECRET_20), 2, {
            "label": "liam", "account": "liam", "issuer": "Nextcloud",
            "digits": 6, "algorithm": "SHA1", "counter": 7, "tokenType": "HOTP", "source": "Manual"}),
        twofas_service("Steam", b32(STEAM_SECRET), 3, {
            "label": "mallory", "account": "mallory", "issuer": "Steam",
            "digits": 5, "period": 30, "algorithm": "SHA1", "tokenType": "STEAM", "source": "Manual"}),
    ]

    salt = fixed("2fas salt", 256)
    kdf = PBKDF2HMAC(algorithm=SHA256(), length=32, salt=salt, iterations=10000)
    key = kdf.derive(TWOFAS_PASSWORD.encode("utf-8"))

    def encrypt(plaintext, iv):
        data, tag = gcm_seal(key, iv, plaintext.encode("utf-8"))
        return "%s:%s:%s" % (b64(data + tag), b64(salt), b64(iv))

    services_json = json.dumps(services, ensure_ascii=False, separators=(",", ":"))
    backup = {
        "services": [],
        "groups": [{"id": personal, "name": "Personal", "isExpanded": True, "updatedAt": 1730000000100}],
        "updatedAt": 1730000000200,
        "schemaVersion": 4,
        "appVersionCode": 5000017,
        "appVersionName": "5.3.5",
        "appOrigin": "android",
        "servicesEncrypted": encrypt(services_json, fixed("2fas services iv", 12)),
        "reference": encrypt(TWOFAS_REFERENCE, fixed("2fas reference iv", 12)),
    }
    return json.dumps(backup, ensure_ascii=False, separators=(",", ":")) + "\n"


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    write("aegis-encrypted-independent.json", aegis_vault())
    write("2fas-encrypted-independent.2fas", twofas_backup())


if __name__ == "__main__":
    main()
