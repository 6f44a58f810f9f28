#!/usr/bin/python3
# vectors.py: the codes the independent samples in the subdirectories must give
# at T = 59 s (the first row of RFC 6238's table), computed here with Python's
# hmac, from RFC 4226 section 5.3 (dynamic truncation) and, for Steam, the
# Steam Guard algorithm as Aegis (otp/SteamInfo.java) and ValvePython/steam
# (steam/guard.py generate_twofactor_code_for_time) compute it: the same
# HMAC-SHA1 over the 30-second step, its 31-bit truncation written as five
# characters of "23456789BCDFGHJKMNPQRTVWXY", least significant first. The
# tests in internal/transfer hold the values this prints.
#
#	/usr/bin/python3 testdata/transfer/vectors.py

import base64
import hashlib
import hmac
import struct

RFC20 = b"12345678901234567890"
RFC32 = b"12345678901234567890123456789012"
RFC64 = b"1234567890123456789012345678901234567890123456789012345678901234"
# The Steam secret of the samples, and of ValvePython/steam's test.
STEAM = base64.b32decode("BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA")
STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"


def truncate(secret, counter, digest=hashlib.sha1):
    h = hmac.new(secret, struct.pack(">Q", counter), digest).digest()
    off = h[-1] & 0x0F
    return struct.unpack(">I", h[off:off + 4])[0] & 0x7FFFFFFF


def hotp(secret, counter, digits=6, digest=hashlib.sha1):
    return str(truncate(secret, counter, digest) % 10 ** digits).zfill(digits)


def steam(secret, t):
    v = truncate(secret, t // 30)
    out = ""
    for _ in range(5):
        out += STEAM_ALPHABET[v % len(STEAM_ALPHABET)]
        v //= len(STEAM_ALPHABET)
    return out


if __name__ == "__main__":
    print("totp sha1 6 digits, T=59:   ", hotp(RFC20, 59 // 30))
    print("totp sha1 8 digits, T=59:   ", hotp(RFC20, 59 // 30, 8))
    print("totp sha1 7 digits, 10 s, T=59:", hotp(RFC20, 59 // 10, 7))
    print("totp sha256 8 digits, T=59: ", hotp(RFC32, 59 // 30, 8, hashlib.sha256))
    print("totp sha512 8 digits, T=59: ", hotp(RFC64, 59 // 30, 8, hashlib.sha512))
    for c in (1, 5, 7):
        print("hotp sha1 6 digits, counter %d:" % c, hotp(RFC20, c))
    print("steam, T=59:                ", steam(STEAM, 59))
    print("steam superdupersecret, T=3000030:", steam(b"superdupersecret", 3000030))
