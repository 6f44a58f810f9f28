package cli

import (
	"image"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/qr"
)

// readTerminalQR turns what writeTerminalQR drew back into an image, one
// pixel per module, scaled up so that the decoder finds it.
func readTerminalQR(s string) image.Image {
	var rows [][]bool
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		line = strings.ReplaceAll(strings.ReplaceAll(line, qrColours, ""), qrReset, "")
		var top, bottom []bool
		for _, c := range line {
			top = append(top, c == '█' || c == '▀')
			bottom = append(bottom, c == '█' || c == '▄')
		}
		rows = append(rows, top, bottom)
	}
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*scale, len(rows)*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range rows {
		for x, d := range row {
			if d {
				for dy := range scale {
					for dx := range scale {
						img.Pix[(y*scale+dy)*img.Stride+x*scale+dx] = 0
					}
				}
			}
		}
	}
	return img
}

func TestTerminalQR(t *testing.T) {
	link := api.PairURI("http://localhost:8080", "K7Q9M2XD")
	var b strings.Builder
	if err := writeTerminalQR(&b, link); err != nil {
		t.Fatal(err)
	}
	codes, err := qr.Decode(readTerminalQR(b.String()))
	if err != nil || len(codes) != 1 || codes[0].Text != link {
		t.Fatalf("the drawing decodes to %+v, %v; want %q", codes, err, link)
	}
	for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, qrColours) || !strings.HasSuffix(line, qrReset) {
			t.Errorf("line %d is not black on white: %q", i, line)
		}
	}
}
