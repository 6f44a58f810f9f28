package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/vault"
)

// found is one QR code text and where it came from.
type found struct {
	Source string  `json:"file"`
	Text   string  `json:"text"`
	Kind   qr.Kind `json:"kind"`
}

// captureTimeout bounds a screen capture (the portal may show a dialog).
const captureTimeout = 2 * time.Minute

func runQR(env Env, args []string) error {
	if len(args) == 0 {
		usageQR(env)
		return fmt.Errorf("%w: qr needs a subcommand: decode, scan-screen or encode", ErrUsage)
	}
	switch args[0] {
	case "decode":
		return runQRDecode(env, args[1:])
	case "scan-screen":
		return runQRScanScreen(env, args[1:])
	case "encode":
		return runQREncode(env, args[1:])
	case "-h", "--help", "help":
		usageQR(env)
		return nil
	}
	usageQR(env)
	return fmt.Errorf("%w: unknown qr subcommand %q", ErrUsage, args[0])
}

func usageQR(env Env) {
	fmt.Fprint(env.Stderr, `usage: countersign qr decode [--json] IMAGE...    every QR code text in the images
       countersign qr decode [--json] --clipboard    the same for the clipboard (an image or otpauth text)
       countersign qr scan-screen [--json]           the same for every monitor
       countersign qr encode [--out FILE] [--size PX] ID...
                                                     PNG of the accounts (several: a Google Authenticator batch)
`)
}

func runQRDecode(env Env, args []string) error {
	fs := newFlags(env, "qr decode", "[--json] [--clipboard] IMAGE...")
	asJSON := fs.Bool("json", false, "print a JSON array of {file, text, kind}")
	fromClipboard := fs.Bool("clipboard", false, "read the clipboard instead of files")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	var codes []found
	var failed error
	switch {
	case *fromClipboard && len(pos) == 0:
		codes, failed = decodeClipboard(env)
	case !*fromClipboard && len(pos) > 0:
		codes, failed = decodeFiles(env, pos)
	default:
		fs.Usage()
		return fmt.Errorf("%w: give IMAGE files or --clipboard", ErrUsage)
	}
	if err := printFound(env, codes, *asJSON); err != nil {
		return err
	}
	return failed
}

func runQRScanScreen(env Env, args []string) error {
	fs := newFlags(env, "qr scan-screen", "[--json]")
	asJSON := fs.Bool("json", false, "print a JSON array of {file, text, kind}; file names the monitor")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: scan-screen takes no arguments", ErrUsage)
	}
	codes, err := decodeScreen(env)
	if err != nil {
		return err
	}
	return printFound(env, codes, *asJSON)
}

func printFound(env Env, codes []found, asJSON bool) error {
	if asJSON {
		if codes == nil {
			codes = []found{}
		}
		return writeJSON(env.Stdout, codes)
	}
	for _, c := range codes {
		fmt.Fprintln(env.Stdout, c.Text)
	}
	return nil
}

// decodeFiles decodes every file; it returns what it found and, when a file
// could not be read or held no code, an error naming each such file.
func decodeFiles(env Env, files []string) ([]found, error) {
	var codes []found
	var failures []string
	for _, f := range files {
		got, err := qr.DecodeFile(f)
		if err != nil {
			warnf(env, "%s: %v", f, err)
			failures = append(failures, f)
			continue
		}
		for _, c := range got {
			codes = append(codes, found{Source: f, Text: c.Text, Kind: c.Kind})
		}
	}
	if len(failures) > 0 {
		return codes, fmt.Errorf("no QR code read from %s", strings.Join(failures, ", "))
	}
	return codes, nil
}

func decodeScreen(env Env) ([]found, error) {
	ctx, cancel := context.WithTimeout(context.Background(), captureTimeout)
	defer cancel()
	screens, err := capture.Screens(ctx, capture.Options{Getenv: env.Getenv})
	if err != nil {
		return nil, err
	}
	var codes []found
	var tried []string
	for _, s := range screens {
		got, err := qr.Decode(s.Image)
		var nf *qr.NotFoundError
		if errors.As(err, &nf) {
			tried = nf.Tried
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		for _, c := range got {
			codes = append(codes, found{Source: s.Name, Text: c.Text, Kind: c.Kind})
		}
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("no QR code on the screen (%d monitor%s scanned; tried: %s); make sure the code is fully visible and not covered",
			len(screens), plural(len(screens)), strings.Join(tried, ", "))
	}
	return codes, nil
}

func decodeClipboard(env Env) ([]found, error) {
	clip, err := capture.Clipboard(capture.Options{Getenv: env.Getenv})
	if err != nil {
		return nil, err
	}
	if text := strings.TrimSpace(clip.Text); text != "" && qr.Classify(text) != qr.KindOther {
		return []found{{Source: "clipboard", Text: text, Kind: qr.Classify(text)}}, nil
	}
	if len(clip.PNG) == 0 {
		return nil, errors.New("the clipboard holds text that is not an otpauth:// URI, and no image")
	}
	got, err := qr.DecodeBytes(clip.PNG)
	if err != nil {
		return nil, fmt.Errorf("clipboard image: %w", err)
	}
	codes := make([]found, len(got))
	for i, c := range got {
		codes[i] = found{Source: "clipboard", Text: c.Text, Kind: c.Kind}
	}
	return codes, nil
}

// accountsFromCodes turns authenticator QR texts into accounts, reporting
// the codes that are not authenticator codes. It fails when none is.
func accountsFromCodes(env Env, codes []found) ([]vault.Account, error) {
	var accounts []vault.Account
	for _, c := range codes {
		if c.Kind == qr.KindOther {
			warnf(env, "%s: not an authenticator QR code: %q", c.Source, c.Text)
			continue
		}
		as, err := parseAccounts(c.Text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Source, err)
		}
		accounts = append(accounts, as...)
	}
	if len(accounts) == 0 {
		return nil, errors.New("no authenticator QR code found (nothing was added)")
	}
	return accounts, nil
}

func runQREncode(env Env, args []string) error {
	fs := newFlags(env, "qr encode", "[--out FILE] [--size PX] ID...")
	out := fs.String("out", "", "write the PNG here (several batches: FILE-1.png, FILE-2.png …); default stdout when it is not a terminal")
	size := fs.Int("size", 512, "smallest width of the image in pixels")
	force := fs.Bool("force", false, "replace existing files")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: qr encode takes one or more account IDs (see countersign list)", ErrUsage)
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	var keys []otp.Key
	for _, id := range pos {
		a, err := v.Find(id)
		if err != nil {
			return err
		}
		keys = append(keys, a.Key)
	}
	// One account keeps every detail in an otpauth:// URI; several go as a
	// Google Authenticator batch that phones import in one scan.
	var texts []string
	if len(keys) == 1 {
		texts = []string{keys[0].URI()}
	} else if texts, err = otp.EncodeMigration(keys, 0, int(env.Now().Unix()&0x7fffffff)); err != nil {
		return fmt.Errorf("%w (encode those accounts one at a time instead)", err)
	}
	var pngs [][]byte
	for _, t := range texts {
		p, err := qr.Encode(t, *size)
		if err != nil {
			return err
		}
		pngs = append(pngs, p)
	}
	if *out == "" {
		if len(pngs) > 1 {
			return fmt.Errorf("%w: %d QR codes: give --out FILE", ErrUsage, len(pngs))
		}
		if stdoutIsTerminal(env) {
			return fmt.Errorf("%w: will not write a PNG to the terminal: give --out FILE or redirect stdout", ErrUsage)
		}
		_, err := env.Stdout.Write(pngs[0])
		return err
	}
	names := []string{*out}
	if len(pngs) > 1 {
		ext := filepath.Ext(*out)
		base := strings.TrimSuffix(*out, ext)
		if ext == "" {
			ext = ".png"
		}
		names = names[:0]
		for i := range pngs {
			names = append(names, fmt.Sprintf("%s-%d%s", base, i+1, ext))
		}
	}
	for _, n := range names {
		if _, err := os.Stat(n); err == nil && !*force {
			return fmt.Errorf("%s exists; choose another name or pass --force to replace it", n)
		}
	}
	for i, n := range names {
		if err := atomicfile.WriteFile(n, pngs[i], 0o600); err != nil {
			return fmt.Errorf("write %s: %w", n, err)
		}
		fmt.Fprintln(env.Stdout, n)
	}
	warnf(env, "%s shows secrets: delete it once scanned", strings.Join(names, ", "))
	return nil
}

func stdoutIsTerminal(env Env) bool {
	w := env.Stdout
	if s, ok := w.(*stdout); ok {
		w = s.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
