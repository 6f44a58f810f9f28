package approval

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/oschwald/geoip2-golang"
)

// UnknownPlace is the place of an address nobody can locate.
const UnknownPlace = "Unknown place"

// Locator names the place an IP address is at, for people: "Paris, France".
// It returns UnknownPlace when it can't tell.
type Locator interface {
	Place(ip string) string
}

// GeoIP is a Locator reading a MaxMind GeoLite2-City (or GeoIP2-City)
// database.
type GeoIP struct {
	db *geoip2.Reader
}

// OpenGeoIP opens a MaxMind City database file. The Locator it returns is a
// *GeoIP; Close it when done.
func OpenGeoIP(path string) (Locator, error) {
	db, err := geoip2.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open geoip database %s: %w", path, err)
	}
	return &GeoIP{db: db}, nil
}

// Place names the city and country of ip in English; UnknownPlace for
// private, loopback and other non-public addresses and for addresses the
// database does not know.
func (g *GeoIP) Place(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return UnknownPlace
	}
	addr = addr.Unmap()
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return UnknownPlace
	}
	rec, err := g.db.City(net.IP(addr.AsSlice()))
	if err != nil {
		return UnknownPlace
	}
	var parts []string
	if c := rec.City.Names["en"]; c != "" {
		parts = append(parts, c)
	}
	if c := rec.Country.Names["en"]; c != "" {
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return UnknownPlace
	}
	return strings.Join(parts, ", ")
}

// Close closes the database.
func (g *GeoIP) Close() error { return g.db.Close() }

// place is where ip is, by the configured Locator.
func (s *Service) place(ip string) string {
	if s.loc == nil {
		return UnknownPlace
	}
	if p := s.loc.Place(ip); p != "" {
		return p
	}
	return UnknownPlace
}
