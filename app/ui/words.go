package ui

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/countersign/countersign/internal/vault"
)

// stop ends a message with one full stop: none is added after one that is
// there (an error's own words may end with one), a question or an
// exclamation mark, or an ellipsis.
func stop(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, "…") || strings.ContainsAny(s[len(s)-1:], ".?!") {
		return s
	}
	return s + "."
}

// triedWords says in plain words how an image was looked at for a QR code,
// from the QR decoder's names for its strategies (qr.NotFoundError.Tried:
// "hybrid binarizer", "upscaled ×2" …), each way once, in order.
func triedWords(tried []string) string {
	var ways []string
	for _, t := range tried {
		w := "in other ways"
		switch {
		case strings.Contains(t, "binarizer"), t == "local contrast":
			w = "at several contrasts"
		case t == "inverted":
			w = "with light and dark swapped"
		case strings.HasPrefix(t, "downscaled"):
			w = "made smaller"
		case strings.HasPrefix(t, "upscaled"):
			w = "enlarged"
		case t == "denoised":
			w = "smoothed"
		case t == "regions", t == "tiles":
			w = "a part at a time"
		}
		if !strings.Contains(strings.Join(ways, "|"), w) {
			ways = append(ways, w)
		}
	}
	switch len(ways) {
	case 0:
		return ""
	case 1:
		return ways[0]
	}
	return strings.Join(ways[:len(ways)-1], ", ") + " and " + ways[len(ways)-1]
}

// failureText says that what failed, why (err, as a sentence) and, when
// there is advice, what to do: "The account could not be saved. Write
// vault: permission denied. Check …".
func failureText(what string, err error, advice string) string {
	s := stop(what) + " " + sentence(err)
	if advice != "" {
		s += " " + stop(advice)
	}
	return s
}

// storeAdvice says what to do when the accounts could not be read or
// written.
func storeAdvice(err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "Check that you may write to the folder of your accounts (COUNTERSIGN_HOME, or " + dataFolderHint + "), then try again"
	case errors.Is(err, vault.ErrKeyMissing), errors.Is(err, vault.ErrUnreadable):
		return "Nothing was changed. Restart Countersign: it says what to do about the vault file"
	case errors.Is(err, vault.ErrNotFound):
		return "Another window or the countersign command removed it meanwhile"
	}
	return "Nothing was changed. Try again; if it fails again, check that the system keyring is unlocked"
}
