// Command hello is a bare Fyne window, the baseline .ci/bench-ui measures
// the Countersign window against: an app, a window with a label and a text
// field, nothing else. Typing in the window types into the field, as it
// types into Countersign's search field, so that .ci/keylatency measures
// both windows the same way; like Countersign's, the field is not focused
// until then (a focused field's blinking cursor redraws the window).
package main

import (
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("io.github.countersign.BenchHello")
	w := a.NewWindow("Bench Hello")
	field := widget.NewEntry()
	w.Canvas().SetOnTypedRune(func(r rune) {
		w.Canvas().Focus(field)
		field.TypedRune(r)
	})
	w.SetContent(container.NewVBox(widget.NewLabel("Hello, Fyne"), field))
	w.ShowAndRun()
}
