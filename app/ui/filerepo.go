package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage/repository"
)

// Fyne's save dialog opens the chosen file for writing before it hands it
// over, which empties a file that exists; the window then closes that
// writer unused and replaces the file whole (atomicfile). Had the
// replacement failed (a full disk, a folder it may not write in), the file
// chosen, an older backup say, would already be empty. keepFilesUntilWritten
// wraps Fyne's repository of file: URIs so that a writer opens its file
// only at its first Write: a writer closed unused leaves the file as it
// was. Everything else is Fyne's own.
func keepFilesUntilWritten() {
	r, err := repository.ForScheme("file")
	if err != nil {
		return
	}
	if _, done := r.(filesKeptUntilWritten); done {
		return
	}
	if full, ok := r.(fileRepository); ok {
		repository.Register("file", filesKeptUntilWritten{full})
	}
}

// fileRepository is what Fyne's repository of file: URIs can do; the
// wrapper must offer all of it, since Fyne asks a repository what it can
// do by its interfaces.
type fileRepository interface {
	repository.WritableRepository
	repository.AppendableRepository
	repository.HierarchicalRepository
	repository.ListableRepository
	repository.CopyableRepository
	repository.MovableRepository
	repository.DeleteAllRepository
}

type filesKeptUntilWritten struct{ fileRepository }

func (r filesKeptUntilWritten) Writer(u fyne.URI) (fyne.URIWriteCloser, error) {
	return &writerOnFirstWrite{files: r.fileRepository, uri: u}, nil
}

// writerOnFirstWrite opens its file, emptying it, at the first Write.
type writerOnFirstWrite struct {
	files fileRepository
	uri   fyne.URI
	w     fyne.URIWriteCloser
}

func (w *writerOnFirstWrite) URI() fyne.URI { return w.uri }

func (w *writerOnFirstWrite) Write(p []byte) (int, error) {
	if w.w == nil {
		opened, err := w.files.Writer(w.uri)
		if err != nil {
			return 0, err
		}
		w.w = opened
	}
	return w.w.Write(p)
}

func (w *writerOnFirstWrite) Close() error {
	if w.w == nil {
		return nil
	}
	return w.w.Close()
}
