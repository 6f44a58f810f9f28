package transfer

// Ente Auth's plain export (Settings, Data, Export codes, Plain text): a text
// file of otpauth:// URIs, one a line, as Ente Auth writes them
// (github.com/ente-io/ente: the export's _getAuthDataForExport writes each
// code's rawData with its commas as %2C; auth/lib/models/code.dart and
// code_display.dart) and Aegis reads them (EnteAuthImporter.java, through
// its otpauth URI importer). Steam keys are otpauth://steam/ URIs. Each URI
// carries a codeDisplay parameter, URL-encoded JSON:
//
//	{"pinned": bool, "trashed": bool, "lastUsedAt": …, "tapCount": …,
//	 "tags": ["…"], "note": "…", "position": …, "iconSrc": "…", "iconID": "…"}
//
// Pinned, tags and note come across; codes in Ente's trash are left out, as
// Ente itself leaves them out of its list of codes.

import (
	"encoding/json"
	"errors"
	"strings"
)

const enteCodeDisplay = "codeDisplay"

type enteDisplay struct {
	Pinned  bool     `json:"pinned"`
	Trashed bool     `json:"trashed"`
	Tags    []string `json:"tags"`
	Note    string   `json:"note"`
}

// isEnte reports whether text, a list of otpauth URIs, is Ente Auth's: one of
// its URIs has a codeDisplay parameter.
func isEnte(text string) bool {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if hasPrefixFold(line, uriScheme) {
			if _, query, ok := strings.Cut(line, "?"); ok &&
				(strings.HasPrefix(query, enteCodeDisplay+"=") || strings.Contains(query, "&"+enteCodeDisplay+"=")) {
				return true
			}
		}
	}
	return false
}

func parseEnte(data []byte, _ Options) (parsed, error) {
	p, err := parseLines(data, false)
	if err != nil {
		return p, err
	}
	kept := p.entries[:0]
	for _, e := range p.entries {
		if e.err == nil {
			var trashed bool
			if trashed, e.err = enteOrganise(&e); trashed {
				continue
			}
		}
		e.index = len(kept) + 1
		kept = append(kept, e)
	}
	p.entries = kept
	return p, nil
}

// enteOrganise moves the codeDisplay parameter of e's key into the
// account's pin, tags and notes.
func enteOrganise(e *entry) (trashed bool, err error) {
	values, ok := e.account.Extra[enteCodeDisplay]
	if !ok {
		return false, nil
	}
	delete(e.account.Extra, enteCodeDisplay)
	if len(e.account.Extra) == 0 {
		e.account.Extra = nil
	}
	if len(values) != 1 {
		return false, errors.New("codeDisplay appears more than once")
	}
	var d enteDisplay
	// As CodeDisplay.fromUri does: a comma may arrive encoded twice.
	raw := strings.ReplaceAll(values[0], "%2C", ",")
	if err := decodeEntry(json.RawMessage(raw), &d); err != nil {
		return false, errors.New("codeDisplay is not valid JSON")
	}
	e.account.Pinned, e.account.Tags, e.account.Notes = d.Pinned, d.Tags, d.Note
	return d.Trashed, nil
}
