package approver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/countersign/countersign/internal/atomicfile"
)

// pairedFile is paired.json: the paired accounts, no secrets.
type pairedFile struct {
	Version  int            `json:"version"`
	Accounts []pairedRecord `json:"accounts"`
}

type pairedRecord struct {
	ID          string    `json:"id"`
	Server      string    `json:"server"`
	PublicURL   string    `json:"public_url,omitempty"`
	AccountID   string    `json:"account_id"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	DeviceName  string    `json:"device_name"`
	PairedAt    time.Time `json:"paired_at"`
	Unpaired    bool      `json:"unpaired,omitempty"`
	LastEventID int64     `json:"last_event_id,omitempty"`
}

const fileVersion = 1

// lockName is the lock file that serialises writers of paired.json (the
// window and the command line may both run).
const lockName = "paired.lock"

func (m *Manager) path() string { return filepath.Join(m.dir, FileName) }

// readFile reads paired.json; nil when there is none.
func (m *Manager) readFile() (*pairedFile, time.Time, error) {
	fi, err := os.Stat(m.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("approver: %w", err)
	}
	b, err := os.ReadFile(m.path())
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("approver: %w", err)
	}
	var f pairedFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, time.Time{}, fmt.Errorf("approver: %s is damaged (%v): move it away to start again", m.path(), err)
	}
	if f.Version > fileVersion {
		return nil, time.Time{}, fmt.Errorf("approver: %s was written by a newer countersign", m.path())
	}
	return &f, fi.ModTime(), nil
}

// load reads paired.json at Open; a missing one means no accounts.
func (m *Manager) load() error {
	f, mod, err := m.readFile()
	if err != nil || f == nil {
		return err
	}
	m.mergeLocked(f, false)
	m.diskMod = mod
	return nil
}

func recordAccount(r pairedRecord, order int) *account {
	return &account{
		Account: Account{
			ID: r.ID, Server: r.Server, AccountID: r.AccountID, Name: r.Name, Email: r.Email,
			DeviceName: r.DeviceName, PairedAt: r.PairedAt, Unpaired: r.Unpaired,
		},
		publicURL: r.PublicURL,
		lastSeq:   r.LastEventID,
		seen:      map[string]time.Time{},
		order:     order,
		saved:     true,
	}
}

// mergeLocked takes in what another process wrote: accounts it paired are
// adopted (and followed when Run runs), accounts it unpaired are
// forgotten, a removal it heard of is applied.
func (m *Manager) mergeLocked(f *pairedFile, announce bool) {
	onDisk := map[string]bool{}
	for i, r := range f.Accounts {
		if r.ID == "" || r.Server == "" {
			continue
		}
		onDisk[r.ID] = true
		a := m.accounts[r.ID]
		if a == nil {
			if m.forgotten[r.ID] {
				continue
			}
			a = recordAccount(r, len(m.accounts)+i)
			m.accounts[r.ID] = a
			m.startLocked(a)
			if announce {
				m.emit(Event{Kind: EventConnection, Account: a.Account})
			}
			continue
		}
		a.saved = true
		a.lastSeq = max(a.lastSeq, r.LastEventID)
		if r.Unpaired && !a.Unpaired {
			m.unpairedLocked(a)
		}
	}
	for id, a := range m.accounts {
		if a.saved && !onDisk[id] {
			m.forgetLocked(a)
			m.emit(Event{Kind: EventConnection, Account: a.Account})
		}
	}
}

// reload takes in paired.json when another process changed it.
func (m *Manager) reload() {
	fi, err := os.Stat(m.path())
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil || fi.ModTime().Equal(m.diskMod) {
		return
	}
	f, mod, err := m.readFile()
	if err != nil || f == nil {
		m.log.Warn("approver: reading the paired accounts", "err", err)
		return
	}
	m.mergeLocked(f, true)
	m.diskMod = mod
}

// saveLocked writes paired.json atomically, readable by the user only,
// under the lock and merged with what another process may have written.
func (m *Manager) saveLocked() error {
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return fmt.Errorf("approver: %w", err)
	}
	unlock, err := lockFile(filepath.Join(m.dir, lockName), 10*time.Second)
	if err != nil {
		return err
	}
	defer unlock()
	disk, _, err := m.readFile()
	if err != nil {
		return err
	}
	if disk != nil {
		m.mergeLocked(disk, true)
	}
	f := pairedFile{Version: fileVersion, Accounts: []pairedRecord{}}
	for _, acct := range m.accountsLocked() {
		a := m.accounts[acct.ID]
		f.Accounts = append(f.Accounts, pairedRecord{
			ID: a.ID, Server: a.Server, PublicURL: a.publicURL, AccountID: a.AccountID, Name: a.Name,
			Email: a.Email, DeviceName: a.DeviceName, PairedAt: a.PairedAt, Unpaired: a.Unpaired, LastEventID: a.lastSeq,
		})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(m.path(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("approver: saving the paired accounts: %w", err)
	}
	for _, a := range m.accounts {
		a.saved = true
	}
	if fi, err := os.Stat(m.path()); err == nil {
		m.diskMod = fi.ModTime()
	}
	return nil
}

// lockFile takes a cross-process lock, waiting up to timeout.
func lockFile(path string, timeout time.Duration) (unlock func(), err error) {
	l := flock.New(path)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ok, err := l.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("approver: lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("approver: another countersign process has held %s for %s; close it and try again", path, timeout)
	}
	return func() { _ = l.Unlock() }, nil
}
