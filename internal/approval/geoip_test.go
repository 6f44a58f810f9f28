package approval

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeCityDB writes a tiny GeoLite2-City-shaped database placing
// 203.0.113.0/24 in Paris, France and 198.51.100.0/24 in France with no city.
func writeCityDB(t *testing.T) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", Languages: []string{"en"},
		IncludeReservedNetworks: true, RecordSize: 24})
	must(t, "mmdbwriter.New", err)
	names := func(en string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(en), "fr": mmdbtype.String(en + " (fr)")}}
	}
	france := names("France")
	france["iso_code"] = mmdbtype.String("FR")
	for cidr, rec := range map[string]mmdbtype.Map{
		"203.0.113.0/24":  {"city": names("Paris"), "country": france},
		"198.51.100.0/24": {"country": france},
	} {
		_, n, err := net.ParseCIDR(cidr)
		must(t, "ParseCIDR", err)
		must(t, "Insert", tree.Insert(n, rec))
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	must(t, "create", err)
	_, err = tree.WriteTo(f)
	must(t, "WriteTo", err)
	must(t, "close", f.Close())
	return path
}

func TestGeoIP(t *testing.T) {
	loc, err := OpenGeoIP(writeCityDB(t))
	must(t, "OpenGeoIP", err)
	defer loc.(*GeoIP).Close()
	for ip, want := range map[string]string{
		"203.0.113.7":        "Paris, France",
		"::ffff:203.0.113.9": "Paris, France",
		"198.51.100.1":       "France",
		"192.0.2.1":          UnknownPlace, // not in the database
		"10.1.2.3":           UnknownPlace,
		"192.168.1.1":        UnknownPlace,
		"127.0.0.1":          UnknownPlace,
		"::1":                UnknownPlace,
		"fe80::1":            UnknownPlace,
		"0.0.0.0":            UnknownPlace,
		"not an ip":          UnknownPlace,
		"":                   UnknownPlace,
	} {
		if got := loc.Place(ip); got != want {
			t.Errorf("Place(%q) = %q, want %q", ip, got, want)
		}
	}
	if _, err := OpenGeoIP(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("OpenGeoIP(missing file) succeeded")
	}
	// Wired into a Service: requests carry the place; without a Locator,
	// "Unknown place".
	e := newEnv(t, backends[0].dsn(t))
	e.svc.loc = loc
	r, err := e.svc.Request(ctx, SignIn{UserID: e.ada.ID, SessionID: "s", IP: "203.0.113.7"})
	if err != nil || r.Place != "Paris, France" {
		t.Errorf("request place %q, %v", r.Place, err)
	}
	e.svc.loc = nil
	r, err = e.svc.Request(ctx, SignIn{UserID: e.ada.ID, SessionID: "s2", IP: "203.0.113.7"})
	if err != nil || r.Place != UnknownPlace {
		t.Errorf("request place without geoip %q, %v", r.Place, err)
	}
}
