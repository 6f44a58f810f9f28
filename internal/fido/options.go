package fido

import "slices"

// optionWords are a key's options (Info.Options, by their CTAP names) in
// plain words: what the option reported true means, and false. An empty
// "off" is an option whose false reads as its "on" marked off.
var optionWords = map[string]struct{ on, off string }{
	"clientPin":                      {"PIN set", "PIN possible, not set"},
	"rk":                             {"Passkeys (resident credentials)", "No passkeys (resident credentials)"},
	"up":                             {"Touch to confirm", "No touch needed"},
	"uv":                             {"Built-in verification (fingerprint) set up", "Built-in verification (fingerprint) not set up"},
	"plat":                           {"Built into this computer", "Removable key"},
	"credMgmt":                       {"Manage passkeys", ""},
	"credentialMgmtPreview":          {"Manage passkeys", ""},
	"bioEnroll":                      {"Fingerprints enrolled", "Fingerprint sensor, no fingerprints yet"},
	"userVerificationMgmtPreview":    {"Fingerprints enrolled", "Fingerprint sensor, no fingerprints yet"},
	"alwaysUv":                       {"Always asks for the PIN or a fingerprint", "Asks for the PIN only when a site wants it"},
	"setMinPINLength":                {"Minimum PIN length can be raised", ""},
	"largeBlobs":                     {"Stores data with passkeys (large blobs)", ""},
	"ep":                             {"Enterprise attestation on", "Enterprise attestation possible, off"},
	"authnrCfg":                      {"Settings can be changed", ""},
	"pinUvAuthToken":                 {"PIN permissions (CTAP 2.1)", ""},
	"makeCredUvNotRqd":               {"Sign-ins without passkeys need no PIN", ""},
	"noMcGaPermissionsWithClientPin": {"PIN alone cannot approve sign-ins", ""},
	"uvAcfg":                         {"Fingerprint can change settings", ""},
	"uvBioEnroll":                    {"Fingerprint can manage fingerprints", ""},
	"bioEnrollPreview":               {"Fingerprints enrolled", "Fingerprint sensor, no fingerprints yet"},
}

// OptionText says in plain words what the option name (a CTAP name)
// reported as on means. An option this package does not know keeps its
// CTAP name, with "on" or "off".
func OptionText(name string, on bool) string {
	w, ok := optionWords[name]
	switch {
	case !ok && on:
		return name + " on"
	case !ok:
		return name + " off"
	case on:
		return w.on
	case w.off != "":
		return w.off
	}
	return w.on + " (off)"
}

// Features lists the key's options in plain words, each once: those on
// first, then those off, each group in order of their words.
func (i *Info) Features() []string {
	var on, off []string
	for name, v := range i.Options {
		text := OptionText(name, v)
		if v {
			on = append(on, text)
		} else {
			off = append(off, text)
		}
	}
	slices.Sort(on)
	slices.Sort(off)
	return append(slices.Compact(on), slices.Compact(off)...)
}
