package ui

// Icons of the window's own, drawn apart so that no two things share a
// picture: the lock is a padlock, a key's fingerprints a fingerprint (both
// were eyes, open and shut), a pinned account a pin.
var (
	lockIcon        = icon("lock")
	fingerprintIcon = icon("fingerprint")
	pinIcon         = icon("pin")
)
