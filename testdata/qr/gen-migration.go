//go:build ignore

// gen-migration prints the Google Authenticator export URIs that
// make-corpus.sh draws: a three-account export and a full ten-account batch,
// one otpauth-migration://offline URI a line. The secrets are fixed bytes, so
// the output is the same on every run.
//
//	go run ./testdata/qr/gen-migration.go
package main

import (
	"fmt"
	"os"

	"github.com/countersign/countersign/internal/otp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen-migration:", err)
		os.Exit(1)
	}
}

func run() error {
	three := []otp.Key{
		{Type: otp.TOTP, Issuer: "GitHub", Name: "octocat", Secret: secret(1, 20)},
		{Type: otp.TOTP, Issuer: "ACME Co", Name: "jane.doe@acme.example", Secret: secret(2, 20)},
		{Type: otp.HOTP, Issuer: "Example", Name: "alice@example.com", Secret: secret(3, 10), Counter: 7},
	}
	var ten []otp.Key
	issuers := []string{"GitHub", "ACME Co", "Google", "Dropbox", "GitLab", "Zürich Bank", "AWS", "Example", "Mastodon", "Proton"}
	for i, iss := range issuers {
		ten = append(ten, otp.Key{Type: otp.TOTP, Issuer: iss, Name: fmt.Sprintf("user%d@mail.example", i+1), Secret: secret(byte(10+i), 20)})
	}
	for _, keys := range [][]otp.Key{three, ten} {
		uris, err := otp.EncodeMigration(keys, len(keys), 1234567)
		if err != nil {
			return err
		}
		for _, u := range uris {
			fmt.Println(u)
		}
	}
	return nil
}

// secret returns n deterministic, random-looking bytes derived from seed.
func secret(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x >> 24)
	}
	return b
}
