// Package assets holds the files Countersign embeds: the application icon as
// SVG and as PNG in the hicolor sizes, and the glyphs the window draws that
// Fyne's theme lacks. The PNGs are rendered from icon.svg
// (rsvg-convert -w N -h N icon.svg -o icon-N.png).
package assets

import (
	"embed"
	"fmt"
)

//go:embed icon.svg icon-*.png key.svg
var files embed.FS

// IconSizes are the sizes, in pixels, of the square PNG icons.
var IconSizes = []int{16, 24, 32, 48, 64, 128, 256, 512}

// IconSVG is the scalable icon.
func IconSVG() []byte { return mustRead("icon.svg") }

// KeySVG is a security-key glyph (black on transparent, for theming).
func KeySVG() []byte { return mustRead("key.svg") }

// IconPNG is the icon rendered at size×size; size must be one of IconSizes.
func IconPNG(size int) ([]byte, error) {
	b, err := files.ReadFile(fmt.Sprintf("icon-%d.png", size))
	if err != nil {
		return nil, fmt.Errorf("no %d px icon (sizes: %v)", size, IconSizes)
	}
	return b, nil
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("assets: " + name + " is not embedded: " + err.Error())
	}
	return b
}
