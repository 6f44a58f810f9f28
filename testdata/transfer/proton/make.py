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
#	/usr/bin/python3 testdata/transfer/proton/make.py

import base64
import json
import os

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
with open(os.path.join(HERE, "proton-authenticator.json"), "w", encoding="utf-8") as f:
    f.write(json.dumps({"version": 1, "entries": entries}, separators=(",", ":"), ensure_ascii=False))
