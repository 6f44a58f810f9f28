package assets

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"testing"
)

func TestIconsDecodeAtTheirSizes(t *testing.T) {
	for _, size := range IconSizes {
		b, err := IconPNG(size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("icon-%d.png: %v", size, err)
		}
		if got := img.Bounds().Size(); got.X != size || got.Y != size {
			t.Errorf("icon-%d.png is %v", size, got)
		}
	}
	if _, err := IconPNG(17); err == nil {
		t.Error("IconPNG(17) succeeded")
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	for name, svg := range map[string][]byte{"icon.svg": IconSVG(), "key.svg": KeySVG()} {
		dec := xml.NewDecoder(bytes.NewReader(svg))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}
