package main

import (
	"errors"
	"os"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/countersign/countersign/app/ui"
	"github.com/countersign/countersign/assets"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/vault"
)

// appID names the app to the desktop (and its preferences on disk); it
// matches FyneApp.toml.
const appID = "io.github.countersign.Countersign"

// runGUI opens the window and runs until it is closed. The vault is opened
// off the UI goroutine, since the keyring may first ask to be unlocked; if it
// does not open, the window says why and offers to try again.
func runGUI() error {
	if err := haveDisplay(os.Getenv); err != nil {
		return err
	}
	a := app.NewWithID(appID)
	if icon, err := assets.IconPNG(256); err == nil {
		a.SetIcon(fyne.NewStaticResource("countersign.png", icon))
	}
	w := a.NewWindow("Countersign")

	var open func()
	open = func() {
		ui.ShowOpening(a, w)
		go func() {
			v, err := openVault()
			fyne.Do(func() {
				if err != nil {
					ui.ShowOpenError(a, w, err, open)
					return
				}
				ui.NewMain(a, w, ui.Deps{Vault: v})
			})
		}()
	}
	open()
	w.ShowAndRun()
	return nil
}

// haveDisplay reports, where X11 is how windows open, a missing X display
// before GLFW fails on it in a way that cannot be caught.
func haveDisplay(getenv func(string) string) error {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		if getenv("DISPLAY") == "" {
			return errors.New("no graphical session to open the window in (DISPLAY is not set); " +
				"run a command instead, see countersign --help")
		}
	}
	return nil
}

// openVault opens the vault the command line uses.
func openVault() (*vault.Vault, error) {
	dir, err := vault.DefaultDir(os.Getenv)
	if err != nil {
		return nil, err
	}
	return vault.Open(dir, vault.Options{Keys: keyring.New(keyring.Service)})
}
