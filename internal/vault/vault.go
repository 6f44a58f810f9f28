// Package vault is Countersign's account store: one file, sealed with
// XChaCha20-Poly1305 under a random 256-bit key that lives in the OS keyring.
//
// Opening a vault reads the keyring once, however many accounts it holds.
// Writes are atomic (temporary file, fsync, rename, fsync of the directory)
// and serialised between processes by a lock file; every write re-reads the
// file under the lock so that a change made by another process is never lost.
// A vault file that cannot be decrypted or parsed is never overwritten.
// There is no plaintext fallback: without a keyring, the vault does not open.
//
// The vault does not parse URIs or import files (see packages otp and
// transfer), and it does not compute codes except to advance a HOTP counter
// before its code is shown.
package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/otp"
)

// FileName is the vault file's name inside its directory.
const FileName = "vault.csv1"

const lockName = "vault.lock"

// KeyStore holds the vault key. keyring.Keyring is the real one.
type KeyStore interface {
	Get(name string) (string, error)
	Set(name, secret string) error
}

// Errors callers branch on.
var (
	ErrNotFound  = errors.New("no such account")
	ErrAmbiguous = errors.New("more than one account matches")
	// ErrUnreadable wraps every reason an existing vault file cannot be
	// opened; the file is left as it is.
	ErrUnreadable = errors.New("vault cannot be opened")
	// ErrKeyMissing means the file is there but its key is not in the keyring.
	ErrKeyMissing = errors.New("the vault's key is not in the keyring")
)

// Options configure Open. Keys is required; the rest have defaults.
type Options struct {
	Keys        KeyStore
	Now         func() time.Time
	Rand        io.Reader
	LockTimeout time.Duration // how long a write waits for another process; default 10 s
}

// Vault is an open account store. Its methods are safe for concurrent use.
type Vault struct {
	dir, path   string
	keys        KeyStore
	now         func() time.Time
	rand        io.Reader
	lockTimeout time.Duration

	mu       sync.Mutex
	id       []byte // identifies the vault and names its key in the keyring
	key      []byte
	accounts []Account
	seen     fileState
}

// fileState identifies the version of the file last read or written.
type fileState struct {
	size    int64
	modTime time.Time
	exists  bool
}

// DefaultDir is $COUNTERSIGN_HOME, or else the user's data folder of the
// platform (userDataDir): countersign/ under the XDG data dir, or
// %APPDATA%\Countersign on Windows. It reads the environment through
// getenv (os.Getenv when nil).
func DefaultDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("COUNTERSIGN_HOME"); d != "" {
		return d, nil
	}
	return userDataDir(getenv)
}

// Open opens the vault in dir, creating the directory if needed. A vault
// that does not exist yet opens empty and is created, with a new key in the
// keyring, on the first write.
func Open(dir string, opts Options) (*Vault, error) {
	return openWith(dir, opts, nil, nil)
}

// openWith opens the vault in dir; with id and key, a file of that id opens
// with that key instead of the keyring's.
func openWith(dir string, opts Options, id, key []byte) (*Vault, error) {
	if opts.Keys == nil {
		return nil, errors.New("vault: no key store")
	}
	v := &Vault{
		dir:         dir,
		path:        filepath.Join(dir, FileName),
		keys:        opts.Keys,
		now:         opts.Now,
		rand:        opts.Rand,
		lockTimeout: opts.LockTimeout,
		id:          id,
		key:         key,
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.rand == nil {
		v.rand = rand.Reader
	}
	if v.lockTimeout <= 0 {
		v.lockTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create vault directory: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.load(); err != nil {
		return nil, err
	}
	return v, nil
}

// Path is the vault file's path.
func (v *Vault) Path() string { return v.path }

// Exists reports whether the vault file has been written.
func (v *Vault) Exists() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen.exists
}

// Accounts returns a copy of every account: pinned first, then by issuer and name.
func (v *Vault) Accounts() []Account {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := cloneAccounts(v.accounts)
	SortAccounts(out)
	return out
}

// SortAccounts orders accounts pinned first, then by issuer and name, case-insensitively.
func SortAccounts(as []Account) {
	slices.SortStableFunc(as, func(a, b Account) int {
		if a.Pinned != b.Pinned {
			if a.Pinned {
				return -1
			}
			return 1
		}
		if c := strings.Compare(strings.ToLower(a.Issuer), strings.ToLower(b.Issuer)); c != 0 {
			return c
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
}

// Find returns the account whose id is ref, or else the one account whose id
// starts with ref.
func (v *Vault) Find(ref string) (Account, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	i, err := find(v.accounts, ref)
	if err != nil {
		return Account{}, err
	}
	return cloneAccount(v.accounts[i]), nil
}

func find(as []Account, ref string) (int, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return -1, fmt.Errorf("%w: empty id", ErrNotFound)
	}
	match := -1
	for i, a := range as {
		if a.ID == ref {
			return i, nil
		}
		if strings.HasPrefix(a.ID, ref) {
			if match >= 0 {
				return -1, fmt.Errorf("%w %q: give more of the id", ErrAmbiguous, ref)
			}
			match = i
		}
	}
	if match < 0 {
		return -1, fmt.Errorf("%w with id %q", ErrNotFound, ref)
	}
	return match, nil
}

// Reload re-reads the file if another process changed it, and reports
// whether it did: when nothing changed, a caller's copy of Accounts is
// still current.
func (v *Vault) Reload() (changed bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.refresh()
}

// Add stores new accounts, all or none. Accounts already in the vault (same
// issuer, name and secret; see Account.SameAs), or repeated in the list, are
// not added again: they come back in dups as the stored account. Each added
// account gets a fresh id and timestamps.
func (v *Vault) Add(accounts ...Account) (added, dups []Account, err error) {
	for i, a := range accounts {
		a.Key = a.Key.Normalize()
		if err := a.Key.Validate(); err != nil {
			return nil, nil, fmt.Errorf("account %d (%s): %w", i+1, a.Label(), err)
		}
		accounts[i] = a
	}
	err = v.update(func(all []Account) ([]Account, error) {
		added, dups = nil, nil
		now := v.now().UTC()
	next:
		for _, a := range accounts {
			for _, have := range all {
				if have.SameAs(a) {
					dups = append(dups, cloneAccount(have))
					continue next
				}
			}
			id, err := v.newID(all)
			if err != nil {
				return nil, err
			}
			a = cloneAccount(a)
			a.ID = id
			if a.Created.IsZero() { // a restored backup keeps its dates
				a.Created = now
			}
			if a.Modified.IsZero() {
				a.Modified = now
			}
			a.Tags = CleanTags(a.Tags)
			all = append(all, a)
			added = append(added, cloneAccount(a))
		}
		return all, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return added, dups, nil
}

// Edit applies fn to the account ref names and stores the result; the id
// and creation time are kept by the vault. The window's and the CLI's edits
// change labels, tags and notes only; a re-keyed shared authenticator
// (internal/shares) changes what makes the codes: secret, type, algorithm,
// digits, period and counter.
func (v *Vault) Edit(ref string, fn func(*Account) error) (Account, error) {
	var out Account
	err := v.update(func(all []Account) ([]Account, error) {
		i, err := find(all, ref)
		if err != nil {
			return nil, err
		}
		a := cloneAccount(all[i])
		if err := fn(&a); err != nil {
			return nil, err
		}
		a.ID, a.Created, a.Modified = all[i].ID, all[i].Created, v.now().UTC()
		a.Key = a.Key.Normalize()
		if err := a.Key.Validate(); err != nil {
			return nil, err
		}
		a.Tags = CleanTags(a.Tags)
		all[i] = a
		out = cloneAccount(a)
		return all, nil
	})
	return out, err
}

// Remove deletes the account ref names and returns it.
func (v *Vault) Remove(ref string) (Account, error) {
	var gone Account
	err := v.update(func(all []Account) ([]Account, error) {
		i, err := find(all, ref)
		if err != nil {
			return nil, err
		}
		gone = cloneAccount(all[i])
		return slices.Delete(all, i, i+1), nil
	})
	return gone, err
}

// NextHOTP returns the code for a HOTP account's current counter after the
// advanced counter has been written to disk, so that a code once shown is
// never shown again, even if the program dies right after.
func (v *Vault) NextHOTP(ref string) (code string, a Account, err error) {
	err = v.update(func(all []Account) ([]Account, error) {
		i, err := find(all, ref)
		if err != nil {
			return nil, err
		}
		if all[i].Type != otp.HOTP {
			return nil, fmt.Errorf("%s is not a counter-based (HOTP) account", all[i].Label())
		}
		if code, err = otp.CodeAtCounter(all[i].Key, all[i].Counter); err != nil {
			return nil, err
		}
		all[i].Counter++
		all[i].Modified = v.now().UTC()
		a = cloneAccount(all[i])
		return all, nil
	})
	if err != nil {
		return "", Account{}, err
	}
	return code, a, nil
}

// RewindHOTP gives back the code at counter, which NextHOTP returned but
// which never reached anyone (it could not be written out): the account's
// counter moves back from counter+1 to counter, so that the next NextHOTP
// returns that code again. If the counter has moved on since, RewindHOTP
// does nothing: the code is then skipped, never given twice.
func (v *Vault) RewindHOTP(ref string, counter uint64) error {
	return v.update(func(all []Account) ([]Account, error) {
		i, err := find(all, ref)
		if err != nil {
			return nil, err
		}
		if all[i].Type != otp.HOTP || all[i].Counter != counter+1 {
			return all, nil
		}
		all[i].Counter = counter
		all[i].Modified = v.now().UTC()
		return all, nil
	})
}

func (v *Vault) newID(all []Account) (string, error) {
	for {
		b := make([]byte, 6)
		if _, err := io.ReadFull(v.rand, b); err != nil {
			return "", fmt.Errorf("generate account id: %w", err)
		}
		id := hex.EncodeToString(b)
		if !slices.ContainsFunc(all, func(a Account) bool { return a.ID == id }) {
			return id, nil
		}
	}
}

// CleanTags trims tags and drops empty and repeated ones, keeping the order.
func CleanTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func cloneAccount(a Account) Account {
	a.Secret = bytes.Clone(a.Secret)
	a.Tags = slices.Clone(a.Tags)
	if a.Extra != nil {
		extra := make(map[string][]string, len(a.Extra))
		for k, vs := range a.Extra {
			extra[k] = slices.Clone(vs)
		}
		a.Extra = extra
	}
	return a
}

func cloneAccounts(as []Account) []Account {
	out := make([]Account, len(as))
	for i, a := range as {
		out[i] = cloneAccount(a)
	}
	return out
}

// update runs one read-modify-write under the cross-process lock.
func (v *Vault) update(fn func([]Account) ([]Account, error)) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	unlock, err := lockFile(filepath.Join(v.dir, lockName), v.lockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := v.refresh(); err != nil {
		return err
	}
	next, err := fn(cloneAccounts(v.accounts))
	if err != nil {
		return err
	}
	if err := v.write(next); err != nil {
		return err
	}
	v.accounts = next
	return nil
}

// refresh reloads the file when it differs from the version last seen.
func (v *Vault) refresh() (changed bool, err error) {
	st, err := stat(v.path)
	if err != nil {
		return false, err
	}
	if st == v.seen {
		return false, nil
	}
	return true, v.load()
}

func stat(path string) (fileState, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, nil
	}
	if err != nil {
		return fileState{}, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return fileState{size: fi.Size(), modTime: fi.ModTime(), exists: true}, nil
}

// load reads and decrypts the file; the key comes from memory if this vault
// already read it, else from the keyring (once).
func (v *Vault) load() error {
	st, err := stat(v.path)
	if err != nil {
		return err
	}
	if !st.exists {
		v.accounts, v.seen = nil, st
		return nil
	}
	data, err := atomicfile.ReadFile(v.path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	h, err := parseHeader(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %v (the file was left as it is)", ErrUnreadable, v.path, err)
	}
	if v.key == nil || !bytes.Equal(v.id, h.id) {
		key, err := v.readKey(h.id)
		if err != nil {
			return err
		}
		v.id, v.key = h.id, key
	}
	accounts, err := open(data, h, v.key)
	if err != nil {
		return fmt.Errorf("%w: %s: %v (the file was left as it is)", ErrUnreadable, v.path, err)
	}
	v.accounts, v.seen = accounts, st
	return nil
}

func keyName(id []byte) string { return "vault-key-" + hex.EncodeToString(id) }

func (v *Vault) readKey(id []byte) ([]byte, error) {
	s, err := v.keys.Get(keyName(id))
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s: %w (item %q of service %q; restore the keyring that holds it, or move the file away and import a backup; the file was left as it is)",
			ErrUnreadable, v.path, ErrKeyMissing, keyName(id), keyring.Service)
	}
	if err != nil {
		return nil, fmt.Errorf("read the vault key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("%w: the key stored in the keyring for %s is malformed (the file was left as it is)", ErrUnreadable, v.path)
	}
	return key, nil
}

// write seals accounts and replaces the file atomically, creating the key
// in the keyring first if this is the vault's first write.
func (v *Vault) write(accounts []Account) error {
	if v.key == nil {
		id := make([]byte, idSize)
		key := make([]byte, chacha20poly1305.KeySize)
		if _, err := io.ReadFull(v.rand, id); err != nil {
			return fmt.Errorf("generate vault id: %w", err)
		}
		if _, err := io.ReadFull(v.rand, key); err != nil {
			return fmt.Errorf("generate vault key: %w", err)
		}
		if err := v.keys.Set(keyName(id), base64.StdEncoding.EncodeToString(key)); err != nil {
			return fmt.Errorf("store the vault key: %w", err)
		}
		v.id, v.key = id, key
	}
	sealed, err := seal(accounts, v.id, v.key, v.rand)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(v.path, sealed, 0o600); err != nil {
		return writeError(v.dir, err)
	}
	st, err := stat(v.path)
	if err != nil {
		return err
	}
	v.seen = st
	return nil
}

// writeError words a write the file system refused: what to do about a full
// disk, a read-only file system or a directory without permission, naming
// the vault's directory (not the temporary file that could not be written).
// atomicfile leaves the old file in place, so the vault was not changed.
func writeError(dir string, err error) error {
	var why string
	switch {
	case diskFull(err):
		why = "no space left on the disk holding " + dir + ": free some space and try again"
	case errors.Is(err, syscall.EROFS):
		why = dir + " is on a read-only file system: make it writable or move the vault (COUNTERSIGN_HOME)"
	case errors.Is(err, fs.ErrPermission):
		why = "no permission to write in " + dir
	default:
		return fmt.Errorf("write vault: %w", err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("write vault: %s; the vault was not changed (%w)", why, errno)
	}
	return fmt.Errorf("write vault: %s; the vault was not changed (%w)", why, fs.ErrPermission)
}

// contents is the plaintext inside the sealed file.
type contents struct {
	Version  int       `json:"version"`
	Accounts []Account `json:"accounts"`
}

func marshal(accounts []Account) ([]byte, error) {
	if accounts == nil {
		accounts = []Account{}
	}
	return json.Marshal(contents{Version: 1, Accounts: accounts})
}

func unmarshal(b []byte) ([]Account, error) {
	var c contents
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decrypted contents are not valid: %w", err)
	}
	if c.Version != 1 {
		return nil, fmt.Errorf("contents version %d is newer than this Countersign understands; upgrade it", c.Version)
	}
	return c.Accounts, nil
}
