package syncer_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/store/pgtest"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
	"github.com/countersign/countersign/internal/vaultsync"
	"github.com/countersign/countersign/internal/vaultsync/syncer"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// desk is one companion: its approver core, vault and syncer, each with
// a directory and keyring of its own.
type desk struct {
	name string
	m    *approver.Manager
	v    *vault.Vault
	s    *syncer.Syncer
	id   string // the paired account's local id (the server's device id)
}

type noKeys struct{}

func (noKeys) Touch(context.Context, json.RawMessage, string) (json.RawMessage, error) {
	return nil, errors.New("no security key in this test")
}

func newDesk(t testing.TB, srv *approvertest.Server, u *store.User, name string, rt http.RoundTripper) *desk {
	t.Helper()
	dir := t.TempDir()
	if rt == nil {
		rt = http.DefaultTransport
	}
	m, err := approver.Open(approver.Options{Dir: dir, Keyring: testkit.Keyring(t), HTTP: &http.Client{Transport: rt}, Keys: noKeys{}})
	if err != nil {
		t.Fatal(err)
	}
	_, uri := srv.PairingCode(u)
	a, err := m.Pair(context.Background(), uri, "", name)
	if err != nil {
		t.Fatalf("pairing %s: %v", name, err)
	}
	v, err := vault.Open(dir, vault.Options{Keys: testkit.Keyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := syncer.New(syncer.Options{Server: m, Vault: v, AccountID: a.ID, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return &desk{name: name, m: m, v: v, s: s, id: a.ID}
}

func (d *desk) sync(t testing.TB) syncer.Result {
	t.Helper()
	res, err := d.s.Sync(context.Background())
	if err != nil {
		t.Fatalf("%s: sync: %v (%+v)", d.name, err, res)
	}
	return res
}

// join makes d join the sync through by, comparing the codes as a person
// would.
func (d *desk) join(t testing.TB, by *desk) {
	t.Helper()
	ctx := context.Background()
	_, code, err := d.m.SyncJoin(ctx, d.id)
	if err != nil {
		t.Fatalf("%s: join: %v", d.name, err)
	}
	if len(code) != 6 {
		t.Fatalf("join code %q, want 6 digits", code)
	}
	if _, err := by.m.SyncApprove(ctx, by.id, code); err != nil {
		t.Fatalf("%s approving %s with %s: %v", by.name, d.name, code, err)
	}
}

func (d *desk) add(t testing.TB, uri string) vault.Account {
	t.Helper()
	k, err := otp.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	added, _, err := d.v.Add(vault.Account{Key: k})
	if err != nil || len(added) != 1 {
		t.Fatalf("%s: add: %v %v", d.name, added, err)
	}
	return added[0]
}

func (d *desk) find(t testing.TB, name string) vault.Account {
	t.Helper()
	for _, a := range d.v.Accounts() {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("%s has no account %s: %v", d.name, name, labels(d))
	return vault.Account{}
}

// view is what must be the same on every desktop: each account's label,
// notes, tags and codes (now and for HOTP its counter).
func view(t testing.TB, d *desk) []string {
	t.Helper()
	var out []string
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, a := range d.v.Accounts() {
		if vaultsync.LocalOnly(&a) {
			continue
		}
		code, err := otp.Code(a.Key, at)
		if a.Type == otp.HOTP {
			code, err = otp.CodeAtCounter(a.Key, a.Counter)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s/%s notes=%q tags=%v counter=%d code=%s", a.Issuer, a.Name, a.Notes, a.Tags, a.Counter, code))
	}
	slices.Sort(out)
	return out
}

func labels(d *desk) []string {
	var out []string
	for _, a := range d.v.Accounts() {
		out = append(out, a.Label())
	}
	return out
}

// settle syncs every desktop until a whole pass changes nothing.
func settle(t testing.TB, ds ...*desk) {
	t.Helper()
	for pass := 0; pass < 6; pass++ {
		moved := 0
		for _, d := range ds {
			r := d.sync(t)
			moved += r.Applied + r.Pushed
		}
		if moved == 0 {
			return
		}
	}
	t.Fatal("the desktops did not settle in 6 passes")
}

func converged(t testing.TB, ds ...*desk) []string {
	t.Helper()
	want := view(t, ds[0])
	for _, d := range ds[1:] {
		if got := view(t, d); !slices.Equal(got, want) {
			t.Fatalf("%s has\n%s\nbut %s has\n%s", d.name, strings.Join(got, "\n"), ds[0].name, strings.Join(want, "\n"))
		}
	}
	return want
}

func secretURI(issuer, name string, hotp bool) string {
	b := make([]byte, 20)
	rand.Read(b)
	s := otp.Key{Secret: b}.SecretBase32()
	kind, extra := "totp", ""
	if hotp {
		kind, extra = "hotp", "&counter=3"
	}
	return "otpauth://" + kind + "/" + issuer + ":" + name + "?secret=" + s + "&issuer=" + issuer + extra
}

var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "countersign.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// TestSyncThreeDesktops runs one person's three desktops against a real
// server, on SQLite and on PostgreSQL: starting and joining with the code,
// concurrent and offline edits converging, HOTP counters, a tampered
// record refused, a removed desktop cut off and the key rotated, and no
// secret or name in the database.
func TestSyncThreeDesktops(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			srv := approvertest.StartOn(t, be.dsn(t))
			u := srv.User("ada@example.com", "Ada")
			a := newDesk(t, srv, u, "Ada's laptop", nil)
			b := newDesk(t, srv, u, "Ada's desktop", nil)
			c := newDesk(t, srv, u, "Ada's old laptop", nil)
			ctx := context.Background()

			secrets := map[string]string{}
			addOn := func(d *desk, issuer, name string, hotp bool) vault.Account {
				uri := secretURI(issuer, name, hotp)
				acc := d.add(t, uri)
				secrets[issuer+"/"+name] = acc.SecretBase32()
				return acc
			}
			addOn(a, "Octoforge", "ada.octo", false)
			addOn(a, "Lakebank", "ada.bank", true)
			local := addOn(a, "Intranet", "ada.intra", false)
			if _, err := a.v.Edit(local.ID, func(x *vault.Account) error {
				x.Extra = map[string][]string{vaultsync.LocalOnlyParam: {"1"}}
				return nil
			}); err != nil {
				t.Fatal(err)
			}

			if _, err := b.s.Sync(ctx); !errors.Is(err, approver.ErrNotSyncing) {
				t.Fatalf("sync before starting: %v, want ErrNotSyncing", err)
			}
			if _, err := a.m.SyncStart(ctx, a.id); err != nil {
				t.Fatal(err)
			}
			if r := a.sync(t); r.Pushed != 2 {
				t.Fatalf("first sync pushed %d entries, want 2 (the local-only one stays)", r.Pushed)
			}
			// A wrong code approves nothing.
			if _, _, err := b.m.SyncJoin(ctx, b.id); err != nil {
				t.Fatal(err)
			}
			js, err := a.m.SyncJoins(ctx, a.id)
			if err != nil || len(js) != 1 {
				t.Fatalf("join requests %v, %v", js, err)
			}
			wrong := fmt.Sprintf("%06d", (atoi(js[0].Code)+1)%1_000_000)
			if _, err := a.m.SyncApprove(ctx, a.id, wrong); !errors.Is(err, approver.ErrWrongCode) {
				t.Fatalf("approving with a wrong code: %v, want ErrWrongCode", err)
			}
			if _, err := b.s.Sync(ctx); !errors.Is(err, approver.ErrNotSyncing) {
				t.Fatalf("a desktop approved with a wrong code syncs: %v", err)
			}
			b.join(t, a)
			c.join(t, b)
			settle(t, a, b, c)
			got := converged(t, a, b, c)
			if len(got) != 2 || len(b.v.Accounts()) != 2 {
				t.Fatalf("after joining: %v; b has %v", got, labels(b))
			}

			t.Run("concurrent online edits converge", func(t *testing.T) {
				if _, err := a.v.Edit(a.find(t, "ada.octo").ID, func(x *vault.Account) error { x.Notes = "from a"; return nil }); err != nil {
					t.Fatal(err)
				}
				addOn(b, "Mailpost", "ada.mail", false)
				if _, err := c.v.Edit(c.find(t, "ada.octo").ID, func(x *vault.Account) error { x.Tags = []string{"work"}; return nil }); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 3)
				for _, d := range []*desk{a, b, c} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := d.s.Sync(ctx); err != nil {
							errs <- fmt.Errorf("%s: %w", d.name, err)
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				settle(t, a, b, c)
				got := converged(t, a, b, c)
				if len(got) != 3 {
					t.Fatalf("after concurrent edits: %v", got)
				}
			})

			t.Run("offline edits merge on reconnect", func(t *testing.T) {
				// a and b edit the same account apart; c deletes another.
				if _, err := a.v.Edit(a.find(t, "ada.octo").ID, func(x *vault.Account) error { x.Notes = "offline a"; return nil }); err != nil {
					t.Fatal(err)
				}
				if _, err := b.v.Edit(b.find(t, "ada.octo").ID, func(x *vault.Account) error { x.Notes = "offline b"; return nil }); err != nil {
					t.Fatal(err)
				}
				if _, err := c.v.Remove(c.find(t, "ada.mail").ID); err != nil {
					t.Fatal(err)
				}
				addOn(c, "Shopline", "ada.shop", false)
				// The same account added on two desktops apart.
				same := secretURI("Twinbank", "ada.twin", false)
				a.add(t, same)
				c.add(t, same)
				settle(t, c, b, a)
				for _, d := range []*desk{a, b, c} {
					n := 0
					for _, acc := range d.v.Accounts() {
						if acc.Name == "ada.twin" {
							n++
						}
					}
					if n != 1 {
						t.Fatalf("%s has %d copies of an account added on two desktops, want 1", d.name, n)
					}
				}
				if _, err := a.v.Remove(a.find(t, "ada.twin").ID); err != nil {
					t.Fatal(err)
				}
				settle(t, a, b, c)
				// No live entry of it is left for a desktop that joins later.
				if n := liveEntries(t, b, "ada.twin"); n != 0 {
					t.Fatalf("%d live entries of a removed account on the server", n)
				}
				got := converged(t, a, b, c)
				if len(got) != 3 || strings.Contains(strings.Join(got, " "), "ada.mail") || strings.Contains(strings.Join(got, " "), "ada.twin") || !strings.Contains(strings.Join(got, " "), "ada.shop") {
					t.Fatalf("after offline edits: %v", got)
				}
				notes := a.find(t, "ada.octo").Notes
				if notes != "offline a" && notes != "offline b" {
					t.Fatalf("notes %q, want one of the two edits", notes)
				}
			})

			t.Run("a HOTP code used on one desktop is never offered on another", func(t *testing.T) {
				used := map[string]string{}
				take := func(d *desk) {
					code, acc, err := d.v.NextHOTP(d.find(t, "ada.bank").ID)
					if err != nil {
						t.Fatal(err)
					}
					if by, ok := used[code]; ok {
						t.Fatalf("%s offered %s, used already on %s (counter %d)", d.name, code, by, acc.Counter-1)
					}
					used[code] = d.name
				}
				// Online: each use reaches the others before they use it.
				for _, d := range []*desk{a, b, c, b, a} {
					settle(t, a, b, c)
					take(d)
					d.sync(t)
				}
				// Offline: a uses two codes while the others are apart;
				// after they reconnect, none offers them.
				take(a)
				take(a)
				settle(t, b, c, a)
				converged(t, a, b, c)
				for _, d := range []*desk{c, b, a} {
					take(d)
					settle(t, a, b, c)
				}
				converged(t, a, b, c)
				// One desktop uses codes while another edits the account:
				// the edit wins (the same Lamport time, the larger desktop
				// id), and still takes in the other's counter.
				hi, lo := a, c
				if lo.id > hi.id {
					hi, lo = lo, hi
				}
				take(lo)
				take(lo)
				if _, err := hi.v.Edit(hi.find(t, "ada.bank").ID, func(x *vault.Account) error { x.Notes = "edited while used elsewhere"; return nil }); err != nil {
					t.Fatal(err)
				}
				lo.sync(t)
				hi.sync(t)
				if got := hi.find(t, "ada.bank"); got.Notes != "edited while used elsewhere" {
					t.Fatalf("the edit lost: %+v", got.Notes)
				}
				take(hi)
				settle(t, a, b, c)
				converged(t, a, b, c)
			})

			t.Run("a tampered record is refused and reported", func(t *testing.T) {
				settle(t, a, b, c)
				if _, err := a.v.Edit(a.find(t, "ada.octo").ID, func(x *vault.Account) error { x.Notes = "before tampering"; return nil }); err != nil {
					t.Fatal(err)
				}
				if r := a.sync(t); r.Pushed != 1 {
					t.Fatalf("pushed %d records, want the one edited", r.Pushed)
				}
				flipLastRecord(t, srv.DSN)
				before := b.find(t, "ada.octo").Notes
				res, err := b.s.Sync(ctx)
				if !errors.Is(err, syncer.ErrRefused) || len(res.Refused) != 1 {
					t.Fatalf("sync over a tampered record: %v, refused %+v", err, res.Refused)
				}
				if res.Refused[0].Device != a.id || res.Refused[0].Version < 2 {
					t.Errorf("refused %+v, want a's record", res.Refused[0])
				}
				if got := b.find(t, "ada.octo").Notes; got != before {
					t.Fatalf("the tampered version was applied: notes %q, want %q", got, before)
				}
				// A new version heals it everywhere.
				if _, err := a.v.Edit(a.find(t, "ada.octo").ID, func(x *vault.Account) error { x.Notes = "healed"; return nil }); err != nil {
					t.Fatal(err)
				}
				a.sync(t)
				settle(t, b, c, a)
				converged(t, a, b, c)
				if got := c.find(t, "ada.octo").Notes; got != "healed" {
					t.Fatalf("notes %q after healing", got)
				}
			})

			t.Run("a removed desktop gets nothing new and the others rotate", func(t *testing.T) {
				st, k, err := b.m.SyncKey(ctx, b.id)
				if err != nil {
					t.Fatal(err)
				}
				srv.RemoveApprover(u, c.id)
				// Nothing is written with the old key until someone rotates.
				rec, err := vaultsync.Seal(rand.Reader, k.Key, k.Generation, u.ID, 99, vaultsync.Entry{ID: "probe", Lamport: 1, Device: b.id, Deleted: true})
				if err != nil {
					t.Fatal(err)
				}
				_, err = b.m.SyncPush(ctx, b.id, st.Generation, []api.SyncRecord{{Entry: rec.Entry, Version: 1, Generation: rec.Generation, Sealed: base64.RawURLEncoding.EncodeToString(rec.Sealed)}})
				var apiErr *approver.APIError
				if !errors.As(err, &apiErr) || apiErr.Code != api.CodeRotateFirst {
					t.Fatalf("push with the old key after a removal: %v, want %s", err, api.CodeRotateFirst)
				}
				addOn(a, "Newsite", "ada.new", false)
				if r := a.sync(t); !r.Rotated {
					t.Fatalf("a did not rotate: %+v", r)
				}
				st2, k2, err := b.m.SyncKey(ctx, b.id)
				if err != nil {
					t.Fatal(err)
				}
				if st2.Generation != st.Generation+1 || bytes.Equal(k2.Key, k.Key) || st2.RotateFirst {
					t.Fatalf("after rotating: generation %d (was %d), rotate_first %v, key changed %v", st2.Generation, st.Generation, st2.RotateFirst, !bytes.Equal(k2.Key, k.Key))
				}
				for _, d := range st2.Devices {
					if d.ID == c.id {
						t.Fatalf("the removed desktop still holds a key: %+v", st2.Devices)
					}
				}
				settle(t, a, b)
				converged(t, a, b)
				b.find(t, "ada.new")
				if _, err := c.m.SyncPull(ctx, c.id, 0, 0); !errors.Is(err, approver.ErrUnpaired) {
					t.Fatalf("the removed desktop pulled: %v, want ErrUnpaired", err)
				}
				for _, acc := range c.v.Accounts() {
					if acc.Name == "ada.new" {
						t.Fatal("the removed desktop has what was added after its removal")
					}
				}
			})

			t.Run("the database holds no secret, issuer or name", func(t *testing.T) {
				dump := dumpDB(t, srv.DSN)
				var words []string
				for label, secret := range secrets {
					issuer, name, _ := strings.Cut(label, "/")
					words = append(words, issuer, name, secret, strings.ToLower(secret))
				}
				for _, w := range words {
					if bytes.Contains(dump, []byte(w)) {
						t.Errorf("the database holds %q", w)
					}
				}
				// The check itself finds what is there.
				if !bytes.Contains(dump, []byte("Ada's laptop")) {
					t.Fatal("the dump does not hold the desktop's name: it reads nothing")
				}
			})
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// openRaw opens the test server's database directly.
func openRaw(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if path, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		db, err = sql.Open("sqlite", path)
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// flipLastRecord flips a byte of the ciphertext of the newest record, as
// a server (or someone with its database) might.
func flipLastRecord(t testing.TB, dsn string) {
	t.Helper()
	db := openRaw(t, dsn)
	var seq int64
	var sealed []byte
	if err := db.QueryRow(`SELECT seq, sealed FROM sync_records ORDER BY seq DESC LIMIT 1`).Scan(&seq, &sealed); err != nil {
		t.Fatal(err)
	}
	sealed[len(sealed)/2] ^= 0x01
	q := `UPDATE sync_records SET sealed = ? WHERE seq = ?`
	if !strings.HasPrefix(dsn, "sqlite://") {
		q = `UPDATE sync_records SET sealed = $1 WHERE seq = $2`
	}
	if _, err := db.Exec(q, sealed, seq); err != nil {
		t.Fatal(err)
	}
}

// dumpDB is every byte the database keeps: the SQLite files, or every row
// of every PostgreSQL table as text.
func dumpDB(t testing.TB, dsn string) []byte {
	t.Helper()
	if path, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		var all []byte
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	db := openRaw(t, dsn)
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var buf bytes.Buffer
	for _, tb := range tables {
		rs, err := db.Query(`SELECT t::text FROM "` + tb + `" t`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var s string
			rs.Scan(&s)
			buf.WriteString(s + "\n")
		}
		rs.Close()
	}
	return buf.Bytes()
}

// hostile rewrites the public key in the server's join requests, as a
// server that wants the key sealed to itself would.
type hostile struct {
	next http.RoundTripper
	pub  ed25519.PublicKey
}

func (h *hostile) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || r.URL.Path != "/api/v1/sync/joins" {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var l api.SyncJoinList
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	for i := range l.Joins {
		l.Joins[i].PublicKey = base64.RawURLEncoding.EncodeToString(h.pub)
	}
	b, _ = json.Marshal(l)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestJoinCodeShowsASwappedKey plays a server that swaps the joining
// desktop's key for its own: the approving desktop computes another code
// than the joining one shows, and approving with the joining one's code
// is refused, so nothing is sealed to the server's key.
func TestJoinCodeShowsASwappedKey(t *testing.T) {
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada")
	evilPub, _, _ := ed25519.GenerateKey(rand.Reader)
	a := newDesk(t, srv, u, "Ada's laptop", &hostile{next: http.DefaultTransport, pub: evilPub})
	b := newDesk(t, srv, u, "Ada's desktop", nil)
	ctx := context.Background()
	if _, err := a.m.SyncStart(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	_, shown, err := b.m.SyncJoin(ctx, b.id)
	if err != nil {
		t.Fatal(err)
	}
	js, err := a.m.SyncJoins(ctx, a.id)
	if err != nil || len(js) != 1 {
		t.Fatalf("join requests %v, %v", js, err)
	}
	if js[0].Code == shown {
		t.Fatalf("the approving desktop shows %s like the joining one although the key was swapped", shown)
	}
	if _, err := a.m.SyncApprove(ctx, a.id, shown); !errors.Is(err, approver.ErrWrongCode) {
		t.Fatalf("approving with the joining desktop's code: %v, want ErrWrongCode", err)
	}
	if _, _, err := b.m.SyncKey(ctx, b.id); !errors.Is(err, approver.ErrNotSyncing) {
		t.Fatalf("the joining desktop got a key: %v", err)
	}
}

// replayer is a server that, when armed, answers a pull with a record it
// kept from earlier in place of the newest one of the same entry.
type replayer struct {
	next http.RoundTripper
	mu   sync.Mutex
	old  *api.SyncRecord // what to serve instead
}

func (p *replayer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || r.URL.Path != "/api/v1/sync/records" {
		return resp, err
	}
	p.mu.Lock()
	old := p.old
	p.mu.Unlock()
	if old == nil {
		return resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var page api.SyncRecords
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, err
	}
	for i := range page.Records {
		if page.Records[i].Entry == old.Entry {
			seq := page.Records[i].Seq
			page.Records[i] = *old
			page.Records[i].Seq = seq
		}
	}
	b, _ = json.Marshal(page)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestSyncRefusesAReplayedVersion plays a server that serves an older
// version of an entry (which opens: it was genuine once) after the desktop
// saw a newer one: it is refused and reported, and the vault keeps the
// newer one.
func TestSyncRefusesAReplayedVersion(t *testing.T) {
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada")
	rp := &replayer{next: http.DefaultTransport}
	a := newDesk(t, srv, u, "Ada's laptop", nil)
	b := newDesk(t, srv, u, "Ada's desktop", rp)
	ctx := context.Background()
	if _, err := a.m.SyncStart(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	acc := a.add(t, secretURI("Octoforge", "ada.octo", false))
	a.sync(t)
	b.join(t, a)
	b.sync(t)
	page, err := a.m.SyncPull(ctx, a.id, 0, 0)
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("pull: %+v, %v", page, err)
	}
	first := page.Records[0]
	edit := func(notes string) {
		if _, err := a.v.Edit(acc.ID, func(x *vault.Account) error { x.Notes = notes; return nil }); err != nil {
			t.Fatal(err)
		}
		a.sync(t)
	}
	edit("second")
	b.sync(t)
	edit("third")
	rp.mu.Lock()
	rp.old = &first
	rp.mu.Unlock()
	res, err := b.s.Sync(ctx)
	if !errors.Is(err, syncer.ErrRefused) || len(res.Refused) != 1 || !strings.Contains(res.Refused[0].Why, "replayed") || res.Refused[0].Version != first.Version {
		t.Fatalf("sync over a replayed version: %v, refused %+v", err, res.Refused)
	}
	if got := b.find(t, "ada.octo").Notes; got != "second" {
		t.Fatalf("notes %q after the replay, want the newest seen (second)", got)
	}
}

// liveEntries counts the server's live entries (latest versions, not
// tombstones) of accounts named name, opened with d's key.
func liveEntries(t testing.TB, d *desk, name string) int {
	t.Helper()
	ctx := context.Background()
	_, k, err := d.m.SyncKey(ctx, d.id)
	if err != nil {
		t.Fatal(err)
	}
	scope, _ := d.m.SyncScope(d.id)
	page, err := d.m.SyncPull(ctx, d.id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range page.Records {
		sealed, _ := base64.RawURLEncoding.DecodeString(r.Sealed)
		e, err := vaultsync.Open(k.Key, scope, vaultsync.Record{Entry: r.Entry, Version: r.Version, Generation: r.Generation, Sealed: sealed})
		if err != nil {
			t.Fatalf("entry %s: %v", r.Entry, err)
		}
		if !e.Deleted && e.Account != nil && e.Account.Name == name {
			n++
		}
	}
	return n
}

// TestRotationKeepsWhatTheRotatingDesktopDoesNotSync: the desktop that
// rotates re-seals every entry as the others have it, also one it keeps
// out of sync itself ("this desktop only"), so nothing is lost elsewhere.
func TestRotationKeepsWhatTheRotatingDesktopDoesNotSync(t *testing.T) {
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada")
	a := newDesk(t, srv, u, "Ada's laptop", nil)
	b := newDesk(t, srv, u, "Ada's desktop", nil)
	c := newDesk(t, srv, u, "Ada's old laptop", nil)
	ctx := context.Background()
	if _, err := a.m.SyncStart(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	x := a.add(t, secretURI("Octoforge", "ada.octo", false))
	a.add(t, secretURI("Lakebank", "ada.bank", false))
	a.sync(t)
	b.join(t, a)
	c.join(t, a)
	settle(t, a, b, c)
	if _, err := a.v.Edit(x.ID, func(acc *vault.Account) error {
		acc.Extra = map[string][]string{vaultsync.LocalOnlyParam: {"1"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	srv.RemoveApprover(u, c.id)
	if r := a.sync(t); !r.Rotated {
		t.Fatalf("a did not rotate: %+v", r)
	}
	b.sync(t)
	b.find(t, "ada.octo")
	b.find(t, "ada.bank")
	if got := len(b.v.Accounts()); got != 2 {
		t.Fatalf("b has %v after the rotation", labels(b))
	}
	// A desktop that joins after the rotation gets both too.
	d := newDesk(t, srv, u, "Ada's new laptop", nil)
	d.join(t, b)
	d.sync(t)
	d.find(t, "ada.octo")
	d.find(t, "ada.bank")
}

// TestMovedDesktopSyncsItsNewMembersScope: a desktop that synced with its
// member's scope and is then moved to another member, and joins that
// member's sync, gets every record of that scope, also those the server
// wrote before the old scope's last one (the old cursor would skip them).
func TestMovedDesktopSyncsItsNewMembersScope(t *testing.T) {
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada")
	ctx := context.Background()
	sam := &store.Member{UserID: u.ID, Name: "Sam", Role: api.RoleMember, CreatedAt: srv.Clock.Now()}
	if err := srv.Store.AddMember(ctx, sam); err != nil {
		t.Fatal(err)
	}
	s := newDesk(t, srv, u, "Sam's laptop", nil)
	if err := srv.Store.SetDeviceMember(ctx, u.ID, api.DeviceApprover, s.id, sam.ID); err != nil {
		t.Fatal(err)
	}
	a := newDesk(t, srv, u, "Ada's laptop", nil)

	// Sam's scope first: its records come before Ada's.
	if _, err := s.m.SyncStart(ctx, s.id); err != nil {
		t.Fatal(err)
	}
	s.add(t, secretURI("Gamehub", "sam.games", false))
	s.sync(t)
	if _, err := a.m.SyncStart(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ada.octo", "ada.bank", "ada.mail"} {
		a.add(t, secretURI("Octoforge", n, false))
	}
	a.sync(t)

	// Ada's laptop goes to Sam, and joins Sam's sync.
	if err := srv.Store.SetDeviceMember(ctx, u.ID, api.DeviceApprover, a.id, sam.ID); err != nil {
		t.Fatal(err)
	}
	a.join(t, s)
	a.sync(t)
	s.sync(t)
	a.find(t, "sam.games")
	s.find(t, "ada.octo")
	if got := converged(t, a, s); len(got) != 4 {
		t.Fatalf("after the move: %v, want Sam's account and the laptop's three", got)
	}
}
