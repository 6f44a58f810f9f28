package ui

import (
	"context"
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"github.com/countersign/countersign/internal/portal"
)

// FileChooser is the desktop's own file dialog: portal.FileChooser, which
// asks xdg-desktop-portal. Its methods wait for the person's answer, so
// they run off the UI goroutine; portal.ErrNoPortal sends the window to
// Fyne's own file dialog instead, portal.ErrCancelled means no file.
type FileChooser interface {
	OpenFile(ctx context.Context, title string, filters []portal.Filter) (string, error)
	SaveFile(ctx context.Context, title, name string, filters []portal.Filter) (string, error)
}

// fileKind is what a file dialog asks for: its title, the file types it
// offers and a line that says which formats it opens or writes.
type fileKind struct {
	title   string
	filters []portal.Filter
	about   string
}

// extensions are the file name endings of k's filters (".png"), for
// Fyne's dialog, which filters by extension; nil when every file may be
// chosen.
func (k fileKind) extensions() []string {
	var exts []string
	for _, f := range k.filters {
		for _, p := range f.Patterns {
			ext, ok := strings.CutPrefix(p, "*")
			if !ok || !strings.HasPrefix(ext, ".") {
				return nil
			}
			exts = append(exts, ext)
		}
	}
	return exts
}

// openFile asks for a file of kind in the desktop's own dialog, or in
// Fyne's when no portal answers, and hands it to chosen on the UI
// goroutine. Cancelling calls nothing; a file that cannot be opened comes
// to chosen as its error. fyneDialog receives Fyne's dialog when it is the
// one shown.
func (m *Main) openFile(kind fileKind, chosen func(fyne.URIReadCloser, error), fyneDialog func(dialog.Dialog)) {
	m.askFile(kind, func(files FileChooser) (string, error) {
		return files.OpenFile(context.Background(), kind.title+" — "+kind.about, kind.filters)
	}, func() {
		m.showFyneFile(dialog.NewFileOpen(chosen, m.win), kind, fyneDialog)
	}, func(path string) {
		chosen(storage.Reader(storage.NewFileURI(path)))
	}, func(err error) { chosen(nil, err) })
}

// saveFile asks where to save a file of kind, suggesting name, in the
// desktop's own dialog or Fyne's, and hands the path to chosen on the UI
// goroutine; the caller writes the file. Cancelling calls nothing.
func (m *Main) saveFile(kind fileKind, name string, chosen func(path string), failed func(error), fyneDialog func(dialog.Dialog)) {
	m.askFile(kind, func(files FileChooser) (string, error) {
		return files.SaveFile(context.Background(), kind.title+" — "+kind.about, name, kind.filters)
	}, func() {
		keepFilesUntilWritten()
		d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
			switch {
			case err != nil:
				failed(err)
			case w != nil:
				// Fyne's dialog made a writer for the file, which opens
				// it only when written to (keepFilesUntilWritten); the
				// caller replaces the file whole.
				w.Close()
				chosen(w.URI().Path())
			}
		}, m.win)
		d.SetFileName(name)
		m.showFyneFile(d, kind, fyneDialog)
	}, chosen, failed)
}

// askFile asks the desktop's portal (ask, off the UI goroutine), then on
// the UI goroutine hands the path to chosen, an error to failed, or shows
// Fyne's dialog (fallback) when no portal answers; a cancel calls nothing.
func (m *Main) askFile(kind fileKind, ask func(FileChooser) (string, error), fallback func(), chosen func(string), failed func(error)) {
	if m.deps.Files == nil {
		fallback()
		return
	}
	files := m.deps.Files
	m.pending.Add(1)
	go func() {
		defer m.pending.Done()
		path, err := ask(files)
		fyne.Do(func() {
			switch {
			case errors.Is(err, portal.ErrNoPortal):
				fallback()
			case errors.Is(err, portal.ErrCancelled):
			case err != nil:
				failed(err)
			default:
				chosen(path)
			}
		})
	}()
}

// showFyneFile shows Fyne's file dialog d for kind: its title, what it
// opens, its filter.
func (m *Main) showFyneFile(d *dialog.FileDialog, kind fileKind, fyneDialog func(dialog.Dialog)) {
	d.SetTitleText(kind.title + " — " + kind.about)
	if exts := kind.extensions(); len(exts) > 0 {
		d.SetFilter(storage.NewExtensionFileFilter(exts))
	}
	fyneDialog(d)
	m.showDialogKeys(d, nil, d.Dismiss)
}
