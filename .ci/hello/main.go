// Command hello is a bare Fyne window, the baseline .ci/bench-ui measures
// the Countersign window against: an app, a window with a label, nothing else.
package main

import (
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("io.github.countersign.BenchHello")
	w := a.NewWindow("Bench Hello")
	w.SetContent(widget.NewLabel("Hello, Fyne"))
	w.ShowAndRun()
}
