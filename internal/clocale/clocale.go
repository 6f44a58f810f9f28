// Package clocale makes the "C.UTF-8" locale read as plain English to the
// locale detection Fyne runs at start-up, for its side effect alone: import
// it (blank) from a main package that links Fyne.
//
// github.com/jeandeaual/go-locale treats "C" and "POSIX" as no locale but not
// "C.UTF-8" (the default of containers, CI machines and minimal systems), and
// Fyne's lang package then logs a "Fyne error" from its init on every start,
// which would break the command line's promise that everything on stderr is
// its own prefixed message. When the effective locale is C or POSIX with a
// codeset, this package sets LANGUAGE=en, which gettext ignores under a C
// locale anyway, so nothing else changes meaning.
//
// It must be initialised before Fyne's lang package. Go initialises packages
// in import-path order among those whose dependencies are ready (the Go
// specification, since Go 1.21); this package depends only on os and
// strings, and "github.com/countersign/…" sorts before
// "github.com/jeandeaual/go-locale", which lang depends on. A test of the
// built binary checks it.
package clocale

import (
	"os"
	"strings"
)

func init() { apply(os.Getenv, os.Setenv) }

func apply(getenv func(string) string, setenv func(string, string) error) {
	locale := ""
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if locale = getenv(name); locale != "" {
			break
		}
	}
	base, _, hasCodeset := strings.Cut(locale, ".")
	if hasCodeset && (base == "C" || base == "POSIX") {
		_ = setenv("LANGUAGE", "en")
	}
}
