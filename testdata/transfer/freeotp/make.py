#!/usr/bin/python3
# make.py: writes tokens.xml, FreeOTP's token store, with Python's standard
# library and no code of Countersign's.
#
# FreeOTP (github.com/freeotp/freeotp-android, app/src/main/java/org/fedorahosted/freeotp/; package
# org.fedorahosted.freeotp) keeps its tokens in Android SharedPreferences,
# shared_prefs/tokens.xml: a <map> of <string> elements, one per token, named
# by the token's id ("issuer:label", TokenPersistence.java), whose text is the
# token as JSON (Token.java, through Gson: algo, counter, digits, issuerExt,
# label, period, secret as an array of signed bytes, type), and one named
# "tokenOrder" holding the JSON array of ids in the order FreeOTP shows them.
# Android writes the XML with single-quoted declaration attributes, four-space
# indents and &quot; for quotes in text. Aegis reads this file in
# FreeOtpImporter.java. FreeOTP stores a HOTP counter one below the one it
# will use next (Token.java increments before computing a code): the Acme
# token below, stored with counter 4, gives its next code at counter 5.
#
#	/usr/bin/python3 testdata/transfer/freeotp/make.py

import json
import os
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))


def signed(raw):
    return [b - 256 if b > 127 else b for b in raw]


STEAM = bytes.fromhex("0b6c4bb42e87e41d92cccd0938cc7e6d80bce1a0")  # base32 BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA

tokens = [
    ("GitHub:alice@example.com", {"algo": "SHA1", "counter": 0, "digits": 6, "issuerExt": "GitHub",
                                  "label": "alice@example.com", "period": 30,
                                  "secret": signed(b"12345678901234567890"), "type": "TOTP"}),
    ("Example Bank:alice", {"algo": "SHA256", "counter": 0, "digits": 8, "issuerExt": "Example Bank",
                            "label": "alice", "period": 30,
                            "secret": signed(b"12345678901234567890123456789012"), "type": "TOTP"}),
    ("Acme:carol", {"algo": "SHA1", "counter": 4, "digits": 6, "issuerExt": "Acme", "label": "carol",
                    "period": 30, "secret": signed(b"12345678901234567890"), "type": "HOTP"}),
    ("Steam:dave", {"algo": "SHA1", "counter": 0, "digits": 5, "issuerExt": "Steam", "label": "dave",
                    "period": 30, "secret": signed(STEAM), "type": "TOTP"}),
]
# The order the person arranged the tokens in, not the order they were added.
order = ["Steam:dave", "GitHub:alice@example.com", "Example Bank:alice", "Acme:carol"]


def element(name, value):
    return '    <string name="%s">%s</string>\n' % (escape(name, {'"': "&quot;"}), escape(value, {'"': "&quot;"}))


out = "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
for name, token in tokens:
    out += element(name, json.dumps(token, separators=(",", ":")))
out += element("tokenOrder", json.dumps(order, separators=(",", ":")))
out += "</map>\n"
with open(os.path.join(HERE, "tokens.xml"), "w", encoding="utf-8") as f:
    f.write(out)
