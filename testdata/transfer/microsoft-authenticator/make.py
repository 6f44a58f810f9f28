#!/usr/bin/python3
# make.py: writes PhoneFactor, Microsoft Authenticator's account database,
# with Python's sqlite3 and no code of Countersign's.
#
# Microsoft Authenticator for Android (com.azure.authenticator) keeps its
# accounts in the SQLite file databases/PhoneFactor, table accounts, whose
# columns include name (the issuer), username, oath_secret_key and
# account_type: 0 is a third-party TOTP account (base32 secret, 6 digits), 1 a
# personal Microsoft account (base64 secret, 8 digits), both SHA1 and 30 s;
# work or school accounts (2) sign in by push and may have no secret. That is
# what Aegis reads (app/src/main/java/com/beemdevelopment/aegis/importers/
# MicrosoftAuthImporter.java); the other columns here stand for the many the
# app has and the import ignores.
#
#	/usr/bin/python3 testdata/transfer/microsoft-authenticator/make.py

import base64
import os
import sqlite3

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "PhoneFactor")

RFC20 = b"12345678901234567890"

for suffix in ("", "-wal", "-shm", "-journal"):
    if os.path.exists(PATH + suffix):
        os.remove(PATH + suffix)
db = sqlite3.connect(PATH)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE android_metadata (locale TEXT)")
db.execute("INSERT INTO android_metadata VALUES ('en_US')")
db.execute("CREATE TABLE accounts (_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, username TEXT, "
           "paws_url TEXT, oath_secret_key TEXT, group_key TEXT, account_type INTEGER, cid TEXT, "
           "is_totp_code_shown INTEGER DEFAULT 0, ux_position INTEGER)")
rows = [
    ("GitHub", "alice@example.com", "", base64.b32encode(RFC20).decode().lower().rstrip("="), "", 0, None, 1, 0),
    ("Microsoft", "alice@outlook.example", "", base64.b64encode(RFC20).decode(), "", 1, "0123456789abcdef", 1, 1),
    ("Contoso", "alice@contoso.example", "https://pfd.contoso.example/pad", "", "tenant-1", 2, None, 0, 2),
]
db.executemany("INSERT INTO accounts (name, username, paws_url, oath_secret_key, group_key, account_type, cid, "
               "is_totp_code_shown, ux_position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
db.commit()
db.close()
for suffix in ("-wal", "-shm"):
    if os.path.exists(PATH + suffix):
        os.remove(PATH + suffix)
