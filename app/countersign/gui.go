package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/countersign/countersign/app/ui"
	"github.com/countersign/countersign/assets"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/client"
	"github.com/countersign/countersign/internal/console"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/single"
	"github.com/countersign/countersign/internal/vault"
)

// startupSettles is how long after the vault opens the window has drawn its
// first screen.
const startupSettles = 2 * time.Second

// appID names the app to the desktop (and its preferences on disk); it
// matches FyneApp.toml.
const appID = "io.github.countersign.Countersign"

// runGUI opens the window and runs until it is closed, or, with a system
// tray, until Quit is chosen there. hidden (--hidden, or the "Start hidden in
// the tray" setting) keeps the window hidden in the tray, when there is one.
// The vault is opened off the UI goroutine, since the keyring may first ask
// to be unlocked; if it does not open, the window says why and offers to try
// again. show, when not "", is the screen to open on (ui.ScreenNames).
func runGUI(hidden bool, show string) error {
	if err := haveDisplay(os.Getenv); err != nil {
		return err
	}
	// One window per user and data folder: a later start hands its screen
	// to the running window and exits.
	dir, err := vault.DefaultDir(os.Getenv)
	if err != nil {
		return err
	}
	sock, err := single.SocketPath(os.Getenv("XDG_RUNTIME_DIR"), dir)
	if err != nil {
		return err
	}
	inst, err := single.Claim(sock, single.Request{Show: show})
	if errors.Is(err, single.ErrRunning) {
		fmt.Fprintln(os.Stderr, "countersign: the window is open already; it was asked to show itself")
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { inst.Close() }() // the one held then: see sess.Admin
	// This start is the window, which outlives the console it may have been
	// started from (on Windows, closing that console would end it); done
	// before any goroutine prints.
	console.Detach()
	// A long-lived window's heap is mostly parsed fonts that never die; a
	// tighter garbage-collection target keeps its resident size near a bare
	// Fyne window's at no idle cost (see make bench-ui).
	debug.SetGCPercent(50)
	// The window touches its widgets only on Fyne's goroutine (fyne.Do from
	// any other), so it opts out of Fyne's check of the goroutine on every
	// refresh, which reads the goroutine's stack each time: a fifth of the
	// CPU a keystroke in the search field took (see make bench-ui).
	// Setting the metadata also stops Fyne looking for a FyneApp.toml beside
	// the binary.
	app.SetMetadata(fyne.AppMetadata{ID: appID, Name: "Countersign", Version: version,
		Migrations: map[string]bool{"fyneDo": true}})
	a := app.NewWithID(appID)
	a.Settings().SetTheme(ui.Theme())
	if icon, err := assets.IconPNG(256); err == nil {
		a.SetIcon(fyne.NewStaticResource("countersign.png", icon))
	}
	w := a.NewWindow("Countersign")

	sess := session(a)
	if hidden && sess.Tray == nil {
		fmt.Fprintln(os.Stderr, "countersign: the desktop shows no system tray to start hidden in; opening the window")
	}
	hidden = (hidden || ui.StartsHidden(a)) && sess.Tray != nil
	sess.Hidden = hidden

	// Sign-in approvals run as long as the app does, window shown or not.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	approvals, approvalsErr := openApprovals()
	deps := ui.Deps{Files: fileChooser(), Version: version, DataDir: dir}
	if approvalsErr == nil {
		go approvals.Run(ctx)
		deps.Approvals = approvals
		deps.Dashboards = func(accountID string) ui.Dashboard {
			return client.New(client.ForAccount(approvals, accountID))
		}
	} else {
		fmt.Fprintln(os.Stderr, "countersign: sign-in approvals are off:", approvalsErr)
		deps.ApprovalsErr = approvalsErr
	}

	// What later starts ask, on the UI goroutine: the window forward, on
	// their screen once the window has opened the vault.
	var m *ui.Main
	forward := func(inst *single.Instance) {
		for req := range inst.Requests() {
			fyne.Do(func() {
				fmt.Fprintf(os.Stderr, "countersign: another start asked for the window (screen %q)\n", req.Show)
				w.Show()
				w.RequestFocus()
				if req.Show == "" {
					return
				}
				if m == nil {
					show = req.Show // taken when the vault is open
					return
				}
				if err := m.ShowScreen(req.Show); err != nil {
					fmt.Fprintln(os.Stderr, "countersign:", err)
				}
			})
		}
	}
	go forward(inst)
	// On Windows, Security keys may restart the window as administrator:
	// the new one must find no window to hand over to, so this one lets
	// go of it first, and takes it back if Windows started nothing.
	sess.Admin = admin(a, func() { inst.Close() }, func() error {
		in, err := single.Claim(sock, single.Request{})
		if err != nil {
			return err
		}
		inst = in
		go forward(in)
		return nil
	})

	opened := func(v *vault.Vault) {
		deps.Vault, deps.Session, deps.Keys = v, sess, ui.FidoKeys(os.Getenv)
		deps.Screen = capture.ScreenSize
		m = ui.NewMain(a, w, deps)
		// Starting up (the vault, the fonts parsed for the first
		// frames) leaves garbage the heap would keep: hand it back
		// once the first screen is drawn (see make bench-ui).
		time.AfterFunc(startupSettles, debug.FreeOSMemory)
		if show != "" {
			if err := m.ShowScreen(show); err != nil {
				fmt.Fprintln(os.Stderr, "countersign:", err)
			}
		}
	}
	// The recovery key or a security key opens a vault whose key the keyring lacks.
	rec := &ui.Recovery{Dir: dir, Options: vault.Options{Keys: keyring.New(keyring.Service)},
		Files: deps.Files, Keys: ui.FidoKeys(os.Getenv), Opened: opened}
	var open func()
	open = func() {
		ui.ShowOpening(a, w, capture.ScreenSize)
		go func() {
			v, err := openVault()
			fyne.Do(func() {
				if err != nil {
					ui.ShowOpenError(a, w, err, open, capture.ScreenSize, rec)
					w.Show() // even when started hidden: there is no tray yet
					return
				}
				opened(v)
			})
		}()
	}
	open()
	if sess.Tray != nil {
		// Fyne starts the tray with its run loop, so a first menu goes in
		// now; ui.NewMain fills the same menu in once the vault is open.
		sess.TrayMenu = fyne.NewMenu("Countersign", fyne.NewMenuItem("Show Countersign", w.Show))
		sess.Tray.SetSystemTrayMenu(sess.TrayMenu)
	}
	if hidden {
		a.Run()
	} else {
		w.ShowAndRun()
	}
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

// openApprovals opens the paired accounts the command line uses.
func openApprovals() (*approver.Manager, error) {
	dir, err := vault.DefaultDir(os.Getenv)
	if err != nil {
		return nil, err
	}
	return approver.Open(approver.Options{Dir: dir, Keyring: keyring.New(approver.KeyringService)})
}

// openVault opens the vault the command line uses.
func openVault() (*vault.Vault, error) {
	dir, err := vault.DefaultDir(os.Getenv)
	if err != nil {
		return nil, err
	}
	return vault.Open(dir, vault.Options{Keys: keyring.New(keyring.Service)})
}
