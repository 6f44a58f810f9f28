package ui

import (
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// sharedApp is the one test app of this package's tests. Every test.NewApp
// empties Fyne's font and text-size caches, and shaping the same text again
// under the race detector costs about a second a test; newTestApp hands
// each test the same app with its state emptied instead.
var sharedApp = sync.OnceValue(test.NewApp)

// newTestApp is the test app of one test: its preferences and clipboard
// empty, and the current app.
func newTestApp(t testing.TB) fyne.App {
	t.Helper()
	a := sharedApp()
	prefs, ok := a.Preferences().(interface{ WriteValues(func(map[string]any)) })
	if !ok {
		t.Fatalf("the test app's preferences (%T) cannot be emptied", a.Preferences())
	}
	prefs.WriteValues(func(m map[string]any) { clear(m) })
	a.Clipboard().SetContent("")
	fyne.SetCurrentApp(a)
	return a
}
