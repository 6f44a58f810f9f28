#!/usr/bin/python3
# make.py: writes ente-auth-codes.txt, an Ente Auth plain-text export, with
# Python's standard library and no code of Countersign's.
#
# Ente Auth (github.com/ente-io/ente, auth/) exports "Plain text" as one
# otpauth:// URI a line (_getAuthDataForExport: each code's rawData, commas
# written %2C): the URI the code was added with, Steam codes as
# otpauth://steam/ (auth/lib/models/code.dart), and a codeDisplay parameter
# holding URL-encoded JSON (auth/lib/models/code_display.dart: pinned,
# trashed, lastUsedAt, tapCount, tags, note; newer versions add position,
# iconSrc, iconID), written by Dart's Uri with queryParameters (spaces as
# '+'). Proton Authenticator's tests hold an Ente export of this shape. The
# last line is a code in Ente's trash.
#
#	/usr/bin/python3 testdata/transfer/ente/make.py

import base64
import json
import os
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))


def b32(raw, pad=False):
    s = base64.b32encode(raw).decode()
    return s if pad else s.rstrip("=")


def display(pinned=False, trashed=False, tags=(), note=""):
    return json.dumps({"pinned": pinned, "trashed": trashed, "lastUsedAt": 0, "tapCount": 3,
                       "tags": list(tags), "note": note, "position": 0, "iconSrc": "", "iconID": ""},
                      separators=(",", ":"), ensure_ascii=False)


def uri(kind, label, params, disp):
    q = dict(params)
    q["codeDisplay"] = disp
    return "otpauth://%s/%s?%s" % (kind, urllib.parse.quote(label, safe=":@"), urllib.parse.urlencode(q))


lines = [
    uri("totp", "GitHub:alice@example.com",
        {"secret": b32(b"12345678901234567890"), "issuer": "GitHub", "algorithm": "sha1", "digits": "6", "period": "30"},
        display(pinned=True, tags=["Work"], note="Recovery codes are in the safe")),
    uri("totp", "Example Bank:alice",
        {"secret": b32(b"12345678901234567890123456789012", pad=True), "issuer": "Example Bank", "algorithm": "sha256",
         "digits": "8", "period": "30"},
        display(tags=["Money", "Work"])),
    uri("hotp", "Acme:carol",
        {"secret": b32(b"12345678901234567890"), "issuer": "Acme", "algorithm": "sha1", "digits": "6", "counter": "5"},
        display(note="Zähler, Ñandú")),
    uri("steam", "Steam:dave",
        {"secret": "BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA", "issuer": "Steam", "algorithm": "sha1", "digits": "5",
         "period": "30"},
        display()),
    uri("totp", "Old Forum:zed",
        {"secret": b32(b"12345678901234567890"), "issuer": "Old Forum", "algorithm": "sha1", "digits": "6", "period": "30"},
        display(trashed=True)),
]
with open(os.path.join(HERE, "ente-auth-codes.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
