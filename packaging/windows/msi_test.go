package windows_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/wine"
)

// msiFile is the build's installer, Countersign-<version>.msi, and its
// version.
func msiFile(t *testing.T) (path, version string) {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(dist(t), "Countersign-*.msi"))
	if err != nil || len(found) != 1 {
		t.Fatalf("the Windows build holds the installers %q, want one Countersign-<version>.msi (make windows builds it)", found)
	}
	return found[0], strings.TrimSuffix(strings.TrimPrefix(filepath.Base(found[0]), "Countersign-"), ".msi")
}

// msiTable is a table of the .msi as msiinfo (Debian's msitools, an
// implementation apart from Wine's) exports it: one map per row, by column.
func msiTable(t *testing.T, msi, table string) []map[string]string {
	t.Helper()
	out, err := exec.Command(testkit.Tool(t, "msiinfo", "msitools"), "export", msi, table).Output()
	if err != nil {
		t.Fatalf("msiinfo export %s %s: %v", filepath.Base(msi), table, err)
	}
	// A header of column names, their types, the table's name and keys,
	// then the rows; tab-separated.
	lines := strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("msiinfo export %s: %q", table, out)
	}
	cols := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for _, line := range lines[3:] {
		if line == "" {
			continue
		}
		row := map[string]string{}
		for i, v := range strings.Split(line, "\t") {
			if i < len(cols) {
				row[cols[i]] = v
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// longName is the long half of an .msi file or folder name ("SHORT|long").
func longName(s string) string {
	if _, long, ok := strings.Cut(s, "|"); ok {
		return long
	}
	return s
}

var guid = regexp.MustCompile(`^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$`)

// TestMSITables reads the installer's tables: name and version, an upgrade
// code that upgrades by version, the program and its DLLs in one folder,
// and a Start-menu shortcut to the program.
func TestMSITables(t *testing.T) {
	msi, version := msiFile(t)

	props := map[string]string{}
	for _, r := range msiTable(t, msi, "Property") {
		props[r["Property"]] = r["Value"]
	}
	if props["ProductName"] != "Countersign" {
		t.Errorf("ProductName %q, want Countersign", props["ProductName"])
	}
	if props["ProductVersion"] != version {
		t.Errorf("ProductVersion %q, want %q as in the file name", props["ProductVersion"], version)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(\.\d+)?$`).MatchString(version) {
		t.Errorf("version %q is not one Windows Installer compares (N.N.N or N.N.N.N)", version)
	}
	for _, p := range []string{"ProductCode", "UpgradeCode"} {
		if !guid.MatchString(props[p]) {
			t.Errorf("%s %q is not a GUID", p, props[p])
		}
	}
	// The upgrade code is the product's identity across versions: it is
	// the one written in the .wxs, and a newer version replaces an older
	// one (the Upgrade table's row that finds it).
	wxs, _ := filepath.Glob("*.wxs")
	if len(wxs) != 1 {
		t.Errorf("packaging/windows holds the .wxs files %q, want one to check the upgrade code against", wxs)
	} else if src, err := os.ReadFile(wxs[0]); err != nil {
		t.Error(err)
	} else if m := regexp.MustCompile(`UpgradeCode="\{?([0-9A-Fa-f-]{36})\}?"`).FindSubmatch(src); m == nil {
		t.Errorf("%s has no UpgradeCode", wxs[0])
	} else if want := "{" + strings.ToUpper(string(m[1])) + "}"; props["UpgradeCode"] != want {
		t.Errorf("UpgradeCode %s, want %s of %s", props["UpgradeCode"], want, wxs[0])
	}
	upgrades := 0
	for _, r := range msiTable(t, msi, "Upgrade") {
		if r["UpgradeCode"] == props["UpgradeCode"] && r["VersionMax"] == version && r["ActionProperty"] != "" {
			upgrades++
		}
	}
	if upgrades == 0 {
		t.Error("no Upgrade row finds older versions of the same upgrade code: installing a new version would not replace the old")
	}

	// The program and its DLLs, installed into one folder.
	components := map[string]string{} // component → directory
	for _, r := range msiTable(t, msi, "Component") {
		components[r["Component"]] = r["Directory_"]
	}
	files := map[string]string{} // long name → directory
	fileIDs := map[string]string{}
	for _, r := range msiTable(t, msi, "File") {
		name := strings.ToLower(longName(r["FileName"]))
		files[name] = components[r["Component_"]]
		fileIDs[name] = r["File"]
	}
	exeDir, ok := files["countersign.exe"]
	if !ok {
		t.Fatalf("the File table lacks countersign.exe: %v", files)
	}
	for _, dll := range dllNames {
		if dir, ok := files[dll]; !ok || dir != exeDir {
			t.Errorf("%s: in folder %q (present: %v), want beside countersign.exe in %q", dll, dir, ok, exeDir)
		}
	}

	// A shortcut in the Start menu (ProgramMenuFolder or a folder in it)
	// that starts countersign.exe.
	parents := map[string]string{}
	for _, r := range msiTable(t, msi, "Directory") {
		parents[r["Directory"]] = r["Directory_Parent"]
	}
	inStartMenu := func(dir string) bool {
		for ; dir != ""; dir = parents[dir] {
			if dir == "ProgramMenuFolder" {
				return true
			}
		}
		return false
	}
	var shortcuts []string
	for _, r := range msiTable(t, msi, "Shortcut") {
		target := strings.ToLower(r["Target"])
		toExe := strings.HasSuffix(target, "countersign.exe") || target == "[#"+strings.ToLower(fileIDs["countersign.exe"])+"]" ||
			(!strings.HasPrefix(target, "[") && components[r["Component_"]] == exeDir) // advertised: a feature holding the program
		if inStartMenu(r["Directory_"]) && toExe {
			shortcuts = append(shortcuts, longName(r["Name"]))
		}
	}
	if len(shortcuts) != 1 || !strings.Contains(shortcuts[0], "Countersign") {
		t.Errorf("Start-menu shortcuts to countersign.exe: %q, want one named Countersign", shortcuts)
	}
}

// TestMSIInstallUninstall installs the .msi silently with Wine's msiexec,
// runs the installed program, and uninstalls it: the program, its DLLs and
// the shortcut go, the user's vault stays.
func TestMSIInstallUninstall(t *testing.T) {
	msi, _ := msiFile(t)
	p, built := exe(t)
	if found := find(p, isExe); len(found) != 0 {
		t.Fatalf("countersign.exe is in the prefix before the install: %q", found)
	}

	// Wine would mirror the Start-menu shortcut into the Linux user's own
	// menus; the harness keeps it in the prefix.
	home := t.TempDir()
	t.Setenv("HOME", home)
	msiexec(t, p, "/i", wine.Path(msi), "/qn")
	t.Cleanup(func() {
		if len(find(p, isExe)) != 0 { // a test stopped half-way: leave the prefix clean
			p.Run(context.Background(), 3*time.Minute, wine.Options{}, "msiexec", "/x", wine.Path(msi), "/qn")
		}
	})
	installed := find(p, isExe)
	if len(installed) != 1 {
		t.Fatalf("after the install, countersign.exe is at %q, want one place", installed)
	}
	dir := filepath.Dir(installed[0])
	t.Logf("installed into %s", p.Path(dir))
	for _, dll := range dllNames {
		if _, err := os.Stat(filepath.Join(dir, dll)); err != nil {
			t.Errorf("%s is not beside the installed program: %v", dll, err)
		}
	}
	shortcuts := find(p, isShortcut)
	if len(shortcuts) != 1 || !strings.Contains(filepath.ToSlash(shortcuts[0]), "/Start Menu/Programs/") {
		t.Errorf("the Start-menu shortcut: found %q, want one under Start Menu\\Programs", shortcuts)
	}

	// The installed program runs (its DLLs load from its folder), is the
	// build's, and keeps a vault in the user's default data folder.
	r, err := p.Run(context.Background(), time.Minute, wine.Options{}, p.Path(installed[0]), "--version")
	if err != nil || r.Code != 0 {
		t.Fatalf("the installed countersign.exe --version: %v, exit %d\n%s", err, r.Code, r.Stderr)
	}
	want, err := p.Run(context.Background(), time.Minute, wine.Options{}, built, "--version")
	if err != nil || r.Stdout != want.Stdout {
		t.Errorf("the installed program says %q, the build %q (%v)", r.Stdout, want.Stdout, err)
	}
	before := find(p, isVault)
	r, err = p.Run(context.Background(), time.Minute, wine.Options{}, p.Path(installed[0]), "add",
		"otpauth://totp/Installed:me?secret=JBSWY3DPEHPK3PXP&issuer=Installed")
	if err != nil || r.Code != 0 {
		t.Fatalf("the installed countersign.exe add: %v, exit %d\n%s", err, r.Code, r.Stderr)
	}
	var vaults []string
	for _, v := range find(p, isVault) {
		if !slices.Contains(before, v) {
			vaults = append(vaults, v)
		}
	}
	if len(vaults) != 1 || !strings.Contains(filepath.ToSlash(vaults[0]), "/drive_c/users/") {
		t.Fatalf("the installed program's new vault: %q, want one in the user's folder", vaults)
	}
	t.Logf("the user's vault: %s", p.Path(vaults[0]))

	msiexec(t, p, "/x", wine.Path(msi), "/qn")
	if found := find(p, isExe); len(found) != 0 {
		t.Errorf("countersign.exe is still there after the uninstall: %q", found)
	}
	for _, dll := range dllNames {
		if _, err := os.Stat(filepath.Join(dir, dll)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still in %s after the uninstall (%v)", dll, p.Path(dir), err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the program's folder %s is still there after the uninstall (%v)", p.Path(dir), err)
	}
	if found := find(p, isShortcut); len(found) != 0 {
		t.Errorf("the shortcut is still there after the uninstall: %q", found)
	}
	if _, err := os.Stat(vaults[0]); err != nil {
		t.Errorf("the uninstall took the user's vault: %v", err)
	}
	// Looked at last: Wine's menu builder would have run in the background
	// since the install.
	filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("Wine wrote %s into the Linux user's home", path)
		}
		return nil
	})
}

// msiexec runs Wine's msiexec with args and fails the test unless it
// exits 0.
func msiexec(t *testing.T, p *wine.Prefix, args ...string) {
	t.Helper()
	r, err := p.Run(context.Background(), 3*time.Minute, wine.Options{}, "msiexec", args...)
	if err != nil || r.Code != 0 {
		t.Fatalf("msiexec %s: %v, exit %d\n%s%s", strings.Join(args, " "), err, r.Code, r.Stdout, r.Stderr)
	}
}

// find lists the files of the prefix's C: drive whose name matches.
func find(p *wine.Prefix, match func(name string) bool) []string {
	var found []string
	filepath.WalkDir(p.DriveC(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && match(d.Name()) {
			found = append(found, path)
		}
		return nil
	})
	return found
}

func isExe(name string) bool { return strings.EqualFold(name, "countersign.exe") }

func isShortcut(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".lnk") && strings.Contains(strings.ToLower(name), "countersign")
}

func isVault(name string) bool { return name == "vault.csv1" }

// installedProducts are the product codes in the prefix's list of
// installed programs (Apps & features), per machine and per user.
func installedProducts(t *testing.T, p *wine.Prefix) []string {
	t.Helper()
	var codes []string
	for _, root := range []string{"HKLM", "HKCU"} {
		key := root + `\Software\Microsoft\Windows\CurrentVersion\Uninstall`
		r, err := p.Run(context.Background(), time.Minute, wine.Options{}, "reg", "query", key)
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != 0 && !strings.Contains(r.Stdout+r.Stderr, "Unable to find") {
			t.Fatalf("reg query %s: exit %d\n%s%s", key, r.Code, r.Stdout, r.Stderr)
		}
		codes = append(codes, regexp.MustCompile(`\{[0-9A-Fa-f-]{36}\}`).FindAllString(r.Stdout, -1)...)
	}
	return codes
}

// olderVersion is a version below v (N.N.N).
func olderVersion(t *testing.T, v string) string {
	t.Helper()
	var n [3]int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &n[0], &n[1], &n[2]); err != nil {
		t.Fatalf("version %q: %v", v, err)
	}
	for i := 2; i >= 0; i-- {
		if n[i] > 0 {
			n[i]--
			return fmt.Sprintf("%d.%d.%d", n[0], n[1], n[2])
		}
	}
	t.Fatalf("version %q has no version below it to upgrade from", v)
	return ""
}

// TestMSIUpgrade installs an older version of the package (the build's
// .msi with a lower ProductVersion and a product code of its own, made
// with msitools' msibuild), then the build's: it replaces the older one,
// which leaves the list of installed programs, and its uninstall leaves
// nothing of either.
func TestMSIUpgrade(t *testing.T) {
	msi, version := msiFile(t)
	p, built := exe(t)
	older := filepath.Join(t.TempDir(), "Countersign-older.msi")
	data, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(older, data, 0o644); err != nil {
		t.Fatal(err)
	}
	olderCode := "{" + strings.ToUpper(uuid(t)) + "}"
	build := exec.Command(testkit.Tool(t, "msibuild", "msitools"), older,
		"-q", "UPDATE Property SET Value='"+olderVersion(t, version)+"' WHERE Property='ProductVersion'",
		"-q", "UPDATE Property SET Value='"+olderCode+"' WHERE Property='ProductCode'")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("msibuild: %v\n%s", err, out)
	}
	var code string
	for _, r := range msiTable(t, msi, "Property") {
		if r["Property"] == "ProductCode" {
			code = r["Value"]
		}
	}

	msiexec(t, p, "/i", wine.Path(older), "/qn")
	t.Cleanup(func() {
		if len(find(p, isExe)) != 0 {
			p.Run(context.Background(), 3*time.Minute, wine.Options{}, "msiexec", "/x", wine.Path(msi), "/qn")
			p.Run(context.Background(), 3*time.Minute, wine.Options{}, "msiexec", "/x", wine.Path(older), "/qn")
		}
	})
	if got := installedProducts(t, p); !slices.Contains(got, olderCode) {
		t.Fatalf("after installing the older version, the installed products are %q, want %s among them", got, olderCode)
	}
	msiexec(t, p, "/i", wine.Path(msi), "/qn")
	got := installedProducts(t, p)
	if slices.Contains(got, olderCode) || !slices.Contains(got, code) {
		t.Errorf("after installing %s over the older version, the installed products are %q: want %s, and %s gone", version, got, code, olderCode)
	}
	installed := find(p, isExe)
	if len(installed) != 1 {
		t.Fatalf("after the upgrade, countersign.exe is at %q, want one place", installed)
	}
	r, err := p.Run(context.Background(), time.Minute, wine.Options{}, p.Path(installed[0]), "--version")
	want, err2 := p.Run(context.Background(), time.Minute, wine.Options{}, built, "--version")
	if err != nil || err2 != nil || r.Code != 0 || r.Stdout != want.Stdout {
		t.Errorf("the upgraded program says %q (exit %d, %v), the build %q (%v)", r.Stdout, r.Code, err, want.Stdout, err2)
	}

	msiexec(t, p, "/x", wine.Path(msi), "/qn")
	if got := installedProducts(t, p); slices.Contains(got, code) || slices.Contains(got, olderCode) {
		t.Errorf("after the uninstall, the installed products are %q", got)
	}
	if found := find(p, isExe); len(found) != 0 {
		t.Errorf("countersign.exe is still there after the uninstall: %q", found)
	}
}

// uuid is a random UUID.
func uuid(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
