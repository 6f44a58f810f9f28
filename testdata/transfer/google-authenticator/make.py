#!/usr/bin/python3
# make.py: writes databases, Google Authenticator's account database, with
# Python's sqlite3 and no code of Countersign's.
#
# Google Authenticator for Android keeps its accounts in the SQLite file
# databases/databases of com.google.android.apps.authenticator2, table
# accounts(_id, email, secret, counter, type, provider, issuer,
# original_name): type 0 is TOTP and 1 HOTP; the secret is the base32 text as
# entered; email may be "Issuer:name"; every account is SHA1, 6 digits, 30 s.
# That is the table Aegis reads (app/src/main/java/com/beemdevelopment/aegis/
# importers/GoogleAuthImporter.java). Android opens the database in WAL mode,
# so the file header says WAL; Android also adds its android_metadata table.
# accounts-view.db and no-accounts.db are hostile look-alikes (see below).
#
#	/usr/bin/python3 testdata/transfer/google-authenticator/make.py

import base64
import os
import sqlite3

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "databases")

SHA1_SECRET = base64.b32encode(b"12345678901234567890").decode().rstrip("=")

for suffix in ("", "-wal", "-shm", "-journal"):
    if os.path.exists(PATH + suffix):
        os.remove(PATH + suffix)
db = sqlite3.connect(PATH)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE android_metadata (locale TEXT)")
db.execute("INSERT INTO android_metadata VALUES ('en_US')")
db.execute("CREATE TABLE accounts (_id INTEGER PRIMARY KEY, email TEXT NOT NULL, secret TEXT NOT NULL, "
           "counter INTEGER DEFAULT 0, type INTEGER, provider INTEGER DEFAULT 0, issuer TEXT DEFAULT NULL, "
           "original_name TEXT DEFAULT NULL)")
rows = [
    # email as "Issuer:name", with the issuer column too.
    (1, "GitHub:alice@example.com", SHA1_SECRET, 0, 0, 0, "GitHub", "GitHub:alice@example.com"),
    # The secret as a person typed it: lower case, in groups of four.
    (2, "carol", " ".join(SHA1_SECRET.lower()[i:i + 4] for i in range(0, len(SHA1_SECRET), 4)), 7, 1, 0, "Acme",
     "Acme:carol"),
    # No issuer column: the prefix of email names it.
    (3, "Example Bank:alice", SHA1_SECRET, 0, 0, 0, None, None),
]
db.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
db.commit()
db.close()
for suffix in ("-wal", "-shm"):
    if os.path.exists(PATH + suffix):
        os.remove(PATH + suffix)

# Two hostile files the import must refuse: accounts as a view whose rows
# never end, and no accounts at all.
for name, sql in (("accounts-view.db",
                   "CREATE VIEW accounts AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                   "SELECT i AS _id, 'x' AS email, 'GEZDGNBV' AS secret, 0 AS counter, 0 AS type, "
                   "'' AS issuer, '' AS original_name FROM n"),
                  ("no-accounts.db", "CREATE TABLE original_name (email TEXT)")):
    path = os.path.join(HERE, name)
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()
