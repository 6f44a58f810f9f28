// Command mkico writes Countersign's Windows icon, an .ico holding the PNG
// icons of package assets up to 256 px (each one PNG-compressed as it is,
// which Windows reads since Vista). make windows runs it: the icon goes into
// the executable's resources (packaging/windows/countersign.rc) and the
// installer (the Start-menu shortcut, Apps & features).
//
//	go run ./packaging/windows/mkico -o countersign.ico
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image/png"
	"os"

	"github.com/countersign/countersign/assets"
)

// maxSize is the largest icon an .ico entry can describe (its width and
// height are one byte each, 0 meaning 256).
const maxSize = 256

func main() {
	out := flag.String("o", "", "the .ico file to write")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: mkico -o FILE.ico")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "mkico: %v\n", err)
		os.Exit(1)
	}
}

func run(path string) error {
	var pngs [][]byte
	for _, size := range assets.IconSizes {
		if size > maxSize {
			continue
		}
		b, err := assets.IconPNG(size)
		if err != nil {
			return err
		}
		pngs = append(pngs, b)
	}
	ico, err := encode(pngs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, ico, 0o644); err != nil {
		return fmt.Errorf("failed to write the icon: %w", err)
	}
	return nil
}

// encode lays out an .ico: the 6-byte ICONDIR header, one 16-byte
// ICONDIRENTRY per image, then the PNGs themselves in the same order.
func encode(pngs [][]byte) ([]byte, error) {
	if len(pngs) == 0 {
		return nil, fmt.Errorf("no images to put in the icon")
	}
	var head, body bytes.Buffer
	le := binary.LittleEndian
	head.Write(le.AppendUint16(nil, 0))                 // reserved
	head.Write(le.AppendUint16(nil, 1))                 // type: icon
	head.Write(le.AppendUint16(nil, uint16(len(pngs)))) // image count
	offset := 6 + 16*len(pngs)
	seen := map[int]bool{}
	for i, b := range pngs {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("image %d is not a PNG: %w", i, err)
		}
		if cfg.Width != cfg.Height || cfg.Width < 1 || cfg.Width > maxSize {
			return nil, fmt.Errorf("image %d is %d×%d px: an icon entry is square and at most %d px", i, cfg.Width, cfg.Height, maxSize)
		}
		if seen[cfg.Width] {
			return nil, fmt.Errorf("image %d repeats the %d px size", i, cfg.Width)
		}
		seen[cfg.Width] = true
		side := byte(cfg.Width % maxSize)                           // 256 is written as 0
		head.Write([]byte{side, side, 0, 0})                        // width, height, palette size, reserved
		head.Write(le.AppendUint16(nil, 1))                         // colour planes
		head.Write(le.AppendUint16(nil, 32))                        // bits per pixel
		head.Write(le.AppendUint32(nil, uint32(len(b))))            // image size
		head.Write(le.AppendUint32(nil, uint32(offset+body.Len()))) // image offset
		body.Write(b)
	}
	return append(head.Bytes(), body.Bytes()...), nil
}
