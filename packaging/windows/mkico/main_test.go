package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/assets"
	"github.com/fyne-io/image/ico"
)

// TestIconHoldsEverySize writes the icon and reads it back with an
// independent decoder (Fyne's ico package): every asset size up to 256 px is
// there, pixel for pixel; and the directory, which Windows reads (Fyne's
// decoder reads the images in order instead), gives each entry's side (256
// as 0) and where its PNG lies.
func TestIconHoldsEverySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "countersign.ico")
	if err := run(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	images, err := ico.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the icon does not decode: %v", err)
	}
	var want []int
	for _, size := range assets.IconSizes {
		if size <= maxSize {
			want = append(want, size)
		}
	}
	if len(images) != len(want) {
		t.Fatalf("got %d images, want %d (sizes %v)", len(images), len(want), want)
	}
	for i, size := range want {
		if got := int(data[6+16*i]); got != size%256 {
			t.Errorf("entry %d: directory width %d, want %d", i, got, size%256)
		}
		src, _ := assets.IconPNG(size)
		entry := data[6+16*i : 6+16*(i+1)]
		n, off := binary.LittleEndian.Uint32(entry[8:12]), binary.LittleEndian.Uint32(entry[12:16])
		if int(off)+int(n) > len(data) || !bytes.Equal(data[off:off+n], src) {
			t.Errorf("entry %d: %d bytes at offset %d are not assets/icon-%d.png", i, n, off, size)
		}
		wantImg, err := png.Decode(bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		if got := images[i].Bounds().Dx(); got != size {
			t.Errorf("entry %d is %d px, want %d", i, got, size)
			continue
		}
		if !samePixels(images[i], wantImg) {
			t.Errorf("the %d px entry differs from assets/icon-%d.png", size, size)
		}
	}
}

func TestEncodeRefusesWhatAnIconCannotHold(t *testing.T) {
	sized := func(w, h int) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, w, h))); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		pngs [][]byte
		want string
	}{
		{"none", nil, "no images"},
		{"not a PNG", [][]byte{[]byte("GIF89a")}, "not a PNG"},
		{"not square", [][]byte{sized(32, 16)}, "32×16"},
		{"too big", [][]byte{sized(512, 512)}, "at most 256"},
		{"a size twice", [][]byte{sized(16, 16), sized(16, 16)}, "repeats the 16 px"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := encode(tc.pngs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func samePixels(a, b image.Image) bool {
	na := image.NewNRGBA(a.Bounds())
	draw.Draw(na, na.Bounds(), a, a.Bounds().Min, draw.Src)
	nb := image.NewNRGBA(b.Bounds())
	draw.Draw(nb, nb.Bounds(), b, b.Bounds().Min, draw.Src)
	return na.Bounds() == nb.Bounds() && bytes.Equal(na.Pix, nb.Pix)
}
