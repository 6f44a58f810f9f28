package ui

import "fyne.io/fyne/v2"

// maxContentWidth is the widest a screen's content grows: on a wide window
// lines of codes and text stretched from edge to edge are hard to follow,
// so the content stays this wide, centred.
const maxContentWidth = 880

// newContentHolder is the container a screen's content is shown in.
func newContentHolder() *fyne.Container {
	return &fyne.Container{Layout: centredMax{}}
}

// centredMax gives its objects the whole height and the width available
// up to maxContentWidth, centred.
type centredMax struct{}

func (centredMax) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objects {
		if o.Visible() {
			s = s.Max(o.MinSize())
		}
	}
	return s
}

func (centredMax) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	w := max(min(size.Width, maxContentWidth), 0)
	for _, o := range objects {
		w := max(w, o.MinSize().Width)
		o.Move(fyne.NewPos(max((size.Width-w)/2, 0), 0))
		o.Resize(fyne.NewSize(min(w, size.Width), size.Height))
	}
}
