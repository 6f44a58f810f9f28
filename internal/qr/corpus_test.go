package qr_test

import (
	"encoding/json"
	"errors"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/qr"
)

// corpusDir holds the images testdata/qr/make-corpus.sh draws and its
// manifest, the ground truth of what each image holds.
const corpusDir = "../../testdata/qr"

type corpusEntry struct {
	File  string   `json:"file"`
	Case  string   `json:"case"`
	Texts []string `json:"texts"` // every code in the image; none for images without one
}

func readCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []corpusEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(entries) == 0 {
		t.Fatal("manifest.json lists no images")
	}
	return entries
}

// kindOf is the Kind a text has by construction of the corpus.
func kindOf(text string) qr.Kind {
	switch {
	case strings.HasPrefix(text, "otpauth://"):
		return qr.KindOTPAuth
	case strings.HasPrefix(text, "otpauth-migration://"):
		return qr.KindMigration
	}
	return qr.KindOther
}

// TestCorpus decodes every image of the corpus and wants exactly the codes
// the manifest lists, each of the right Kind and inside the image.
func TestCorpus(t *testing.T) {
	for _, e := range readCorpus(t) {
		t.Run(e.File, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(corpusDir, e.File)
			for _, text := range e.Texts {
				if got, want := qr.Classify(text), kindOf(text); got != want {
					t.Errorf("Classify(%q) = %q, want %q", text, got, want)
				}
			}

			codes, err := qr.DecodeFileFrozen(path)
			if len(e.Texts) == 0 {
				if !errors.Is(err, qr.ErrNoCode) {
					t.Errorf("%s (%s): got %d codes and error %v, want an error wrapping ErrNoCode", e.File, e.Case, len(codes), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s (%s): %v", e.File, e.Case, err)
			}

			var got []string
			for _, c := range codes {
				got = append(got, c.Text)
			}
			want := slices.Clone(e.Texts)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s (%s): got %q, want %q", e.File, e.Case, got, want)
			}

			size := imageSize(t, path)
			for _, c := range codes {
				if want := kindOf(c.Text); c.Kind != want {
					t.Errorf("%s: code %q has Kind %q, want %q", e.File, c.Text, c.Kind, want)
				}
				if c.Bounds.Empty() || !c.Bounds.In(size) {
					t.Errorf("%s: code %q has Bounds %v, want a non-empty rectangle inside the image %v", e.File, c.Text, c.Bounds, size)
				}
			}
		})
	}
}

// TestCorpusManifestComplete keeps the manifest and the images in step: an
// image the manifest does not list would never be tested.
func TestCorpusManifestComplete(t *testing.T) {
	listed := make(map[string]bool)
	for _, e := range readCorpus(t) {
		if listed[e.File] {
			t.Errorf("manifest.json lists %s twice", e.File)
		}
		listed[e.File] = true
	}
	files, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		switch filepath.Ext(f.Name()) {
		case ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp":
			if !listed[f.Name()] {
				t.Errorf("%s is not in manifest.json", f.Name())
			}
			delete(listed, f.Name())
		}
	}
	for name := range listed {
		t.Errorf("manifest.json lists %s, which is not in %s", name, corpusDir)
	}
}

func imageSize(t *testing.T, path string) image.Rectangle {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return image.Rect(0, 0, cfg.Width, cfg.Height)
}
