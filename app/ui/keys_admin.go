package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Admin is what the Security keys screen knows of Countersign's rights on
// Windows, where talking to a security key takes an administrator: Windows
// 10 and later give other programs the keys only through its WebAuthn API,
// and the libfido2 the Windows build carries (1.5, as go-libfido2 bundles
// it) predates libfido2's support for that API and reaches keys over HID
// only. app/countersign fills it in on Windows; it is nil elsewhere.
type Admin struct {
	// Elevated says Countersign runs as administrator.
	Elevated bool
	// Restart starts Countersign again as administrator, on this screen
	// (Windows asks the person first), and quits this one. It returns an
	// error when the new one did not start.
	Restart func() error
}

// keysAdminNotice is what the Security keys screen says about
// administrator rights on goos, and whether it offers to restart as
// administrator: on Windows without them, that every use of a key needs
// them. Nothing elsewhere, or when Countersign is administrator.
func keysAdminNotice(elevated bool, goos string) (text string, offerRestart bool) {
	if goos != "windows" || elevated {
		return "", false
	}
	return "Windows lets only programs running as administrator talk to a security key directly, " +
		"and Countersign has no other way to it yet: registering a key with your account, " +
		"signing in or unlocking with it, its PIN, the passkeys stored on it, fingerprints and reset " +
		"all need Countersign to run as administrator.", true
}

// adminNotice is the Security keys screen's notice about administrator
// rights, with its "Restart as administrator" button; hidden when there is
// nothing to say.
type adminNotice struct {
	admin   *Admin
	text    *widget.Label
	restart *widget.Button
	problem *widget.Label
	root    *fyne.Container
}

func newAdminNotice(admin *Admin, goos string) *adminNotice {
	n := &adminNotice{admin: admin}
	n.text = &widget.Label{Wrapping: fyne.TextWrapWord}
	n.problem = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	n.problem.Hide()
	n.restart = widget.NewButtonWithIcon("Restart as administrator", theme.WarningIcon(), n.onRestart)
	n.root = container.NewVBox(n.text, container.NewHBox(n.restart), n.problem)
	text, offer := "", false
	if admin != nil {
		text, offer = keysAdminNotice(admin.Elevated, goos)
	}
	n.text.SetText(text)
	if text == "" {
		n.root.Hide()
	}
	show(n.restart, offer && admin.Restart != nil)
	return n
}

// onRestart asks Windows to start Countersign as administrator; Windows
// shows its own question, and this window quits once the new one started.
func (n *adminNotice) onRestart() {
	if err := n.admin.Restart(); err != nil {
		n.problem.SetText(sentence(err))
		n.problem.Show()
		return
	}
	n.problem.Hide()
}
