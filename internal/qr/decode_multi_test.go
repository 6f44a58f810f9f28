package qr

import (
	"fmt"
	"image"
	"slices"
	"strings"
	"testing"
)

// migrationURI returns a Google Authenticator export URI of about n
// characters, batch i of a multi-code export.
func migrationURI(i, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	fmt.Fprintf(&b, "otpauth-migration://offline?data=Ci%c", 'A'+i)
	for j := 0; b.Len() < n-3; j++ {
		b.WriteByte(alphabet[(j*7+i*13+j*j)%len(alphabet)])
	}
	b.WriteString("%3D")
	return b.String()
}

// severalCases are images with more than one code.
func severalCases() []hardCase {
	small := "otpauth://totp/A:one?secret=JBSWY3DPEHPK3PXP&issuer=A"
	medium := "otpauth://totp/B:two@example.com?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ&issuer=B"
	large := typicalURI + "&image=https%3A%2F%2Fexample.com%2Flogo.png"
	batch1, batch2 := migrationURI(0, 300), migrationURI(1, 300)
	return []hardCase{
		{"three sizes in a row", func(t testing.TB) image.Image {
			img := screenshot(1920, 1080, 11)
			pasted(img, scaled(codeImage(t, large), 6), 1200, 250) // tallest, rightmost
			pasted(img, scaled(codeImage(t, small), 3), 300, 400)
			pasted(img, scaled(codeImage(t, medium), 4), 700, 300)
			return img
		}, []string{small, medium, large}},
		{"three sizes stacked", func(t testing.TB) image.Image {
			img := screenshot(1280, 2000, 12)
			pasted(img, scaled(codeImage(t, medium), 4), 500, 700)
			pasted(img, scaled(codeImage(t, large), 5), 400, 1200)
			pasted(img, scaled(codeImage(t, small), 3), 600, 200)
			return img
		}, []string{small, medium, large}},
		{"authenticator export batch of 2", func(t testing.TB) image.Image {
			img := filled(1600, 900, 0xff)
			a, b := scaled(codeImage(t, batch1), 5), scaled(codeImage(t, batch2), 5)
			pasted(img, a, 80, 100)
			pasted(img, b, 80+a.Rect.Dx()+40, 100)
			return img
		}, []string{batch1, batch2}},
		{"same code twice", func(t testing.TB) image.Image {
			img := screenshot(1920, 1080, 13)
			pasted(img, scaled(codeImage(t, medium), 4), 300, 300)
			pasted(img, scaled(codeImage(t, medium), 4), 1100, 300)
			return img
		}, []string{medium}},
		{"grid of six", func(t testing.TB) image.Image {
			img := filled(1500, 1000, 0xff)
			for i := range 6 {
				pasted(img, scaled(codeImage(t, fmt.Sprintf("otpauth://totp/Grid:%d?secret=JBSWY3DPEHPK3PXP", i)), 5), 50+(i%3)*480, 50+(i/3)*480)
			}
			return img
		}, func() []string {
			var w []string
			for i := range 6 {
				w = append(w, fmt.Sprintf("otpauth://totp/Grid:%d?secret=JBSWY3DPEHPK3PXP", i))
			}
			return w
		}()},
		{"a large code and a tiny one", func(t testing.TB) image.Image {
			// The tiny one (1.7 px modules) is too small for the scan that
			// finds the large one; its finder patterns show where to look.
			img := screenshot(1920, 1080, 14)
			pasted(img, scaled(codeImage(t, medium), 4), 300, 300)
			g := codeImage(t, small)
			pasted(img, resized(g, g.Rect.Dx()*17/10, g.Rect.Dy()*17/10), 1200, 500)
			return img
		}, []string{medium, small}},
	}
}

func TestDecodeSeveral(t *testing.T) {
	for _, tt := range severalCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := tt.build(t)
			keepCase(t, tt.name, img)
			codes, _, err := decode(img, frozen)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := texts(codes); !slices.Equal(got, tt.want) {
				t.Errorf("got %d codes %.60q, want %d %.60q", len(got), got, len(tt.want), tt.want)
			}
		})
	}
}

func TestReadingOrder(t *testing.T) {
	box := func(text string, x, y, w, h float64) hit {
		return hit{text: text, quad: [4][2]float64{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}}
	}
	tests := []struct {
		name string
		hits []hit
		want []string
	}{
		{"row of equal codes", []hit{box("c", 600, 100, 200, 200), box("a", 0, 100, 200, 200), box("b", 300, 102, 200, 200)}, []string{"a", "b", "c"}},
		{"top-aligned, different sizes", []hit{box("big", 0, 100, 600, 600), box("small", 700, 100, 100, 100)}, []string{"big", "small"}},
		{"centred, different sizes", []hit{box("small", 0, 350, 100, 100), box("big", 200, 100, 600, 600)}, []string{"small", "big"}},
		{"two rows", []hit{box("d", 300, 500, 200, 200), box("b", 300, 0, 200, 200), box("c", 0, 520, 200, 200), box("a", 0, 10, 200, 200)}, []string{"a", "b", "c", "d"}},
		{"stacked", []hit{box("b", 0, 300, 200, 200), box("a", 50, 0, 200, 200)}, []string{"a", "b"}},
		{"rotated quad", []hit{box("b", 500, 0, 200, 200), {text: "a", quad: [4][2]float64{{100, 0}, {200, 100}, {100, 200}, {0, 100}}}}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, h := range readingOrder(tt.hits) {
				got = append(got, h.text)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
