package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/countersign/countersign/internal/loopback"
	"github.com/countersign/countersign/internal/store"
)

var errUsage = errors.New("usage")

// config is everything the server is told at start. Each field comes from a
// flag, else from its environment variable, else from the default.
type config struct {
	addr, db, publicURL    string
	metricsAddr            string
	tlsCert, tlsKey        string
	dev, trustProxy        bool
	outbox, geoip          string
	smtpAddr, smtpUser     string
	smtpPasswordFile       string
	smtpPassword           string // only from the environment or the file, never a flag
	smtpFrom, smtpTLS      string
	secretsKeyFile         string
	credentialsDir         string // $CREDENTIALS_DIRECTORY: systemd's credentials (LoadCredential=)
	logFormat, logLevel    string
	showVersion            bool
	dataDir                string
	outboxFromFlagOrEnv    bool
	publicURLFromFlagOrEnv bool
	warnings               []string // said in the log at start: allowed, but probably not meant
}

// option ties a flag to its environment variable.
type option struct {
	name, env, usage string
	str              *string
	boolean          *bool
	def              string
}

// defaultMetricsAddr keeps the metrics on this machine: what they tell
// (sign-in failures by the minute, routes, process figures) is for the
// operator, not for everyone who reaches --addr.
const defaultMetricsAddr = "127.0.0.1:9181"

func options(c *config) []option {
	return []option{
		{name: "addr", env: "COUNTERSIGN_ADDR", str: &c.addr, def: "127.0.0.1:8080",
			usage: "`host:port` to listen on"},
		{name: "metrics-addr", env: "COUNTERSIGN_METRICS_ADDR", str: &c.metricsAddr, def: defaultMetricsAddr,
			usage: "`host:port` serving Prometheus metrics at /metrics, apart from --addr; empty or off turns them off"},
		{name: "db", env: "COUNTERSIGN_DB", str: &c.db,
			usage: "database `URL`: sqlite:///path/file.db or postgres://user@host/db (default: SQLite under $XDG_DATA_HOME/countersign-server)"},
		{name: "public-url", env: "COUNTERSIGN_PUBLIC_URL", str: &c.publicURL,
			usage: "the `URL` people reach the server at: links in mail, the WebAuthn relying party, Secure cookies when https (default: http://localhost:PORT on a loopback address)"},
		{name: "tls-cert", env: "COUNTERSIGN_TLS_CERT", str: &c.tlsCert, usage: "serve HTTPS with this certificate `file` (PEM; needs --tls-key)"},
		{name: "tls-key", env: "COUNTERSIGN_TLS_KEY", str: &c.tlsKey, usage: "the private key `file` of --tls-cert (PEM)"},
		{name: "dev", env: "COUNTERSIGN_DEV", boolean: &c.dev,
			usage: "development: seed a demo account on an empty database, make a secrets key beside the database when there is none, and show a banner on every page (listen on loopback only)"},
		{name: "secrets-key-file", env: "COUNTERSIGN_SECRETS_KEY_FILE", str: &c.secretsKeyFile,
			usage: "`file` of the key that seals the secrets the server stores (32 random bytes in base64: openssl rand -base64 32) (default: the systemd credential secrets-key, else secrets.key beside the database)"},
		{name: "trust-proxy", env: "COUNTERSIGN_TRUST_PROXY", boolean: &c.trustProxy,
			usage: "take client addresses from X-Forwarded-For (only behind a reverse proxy)"},
		{name: "outbox", env: "COUNTERSIGN_OUTBOX", str: &c.outbox,
			usage: "`directory` for outgoing SMS (and mail when no SMTP relay is set) (default: outbox/ beside the SQLite database, or under $XDG_STATE_HOME)"},
		{name: "geoip", env: "COUNTERSIGN_GEOIP", str: &c.geoip,
			usage: "MaxMind GeoLite2/GeoIP2 City database `file` that places sign-ins for approver desktops (without it: \"Unknown place\")"},
		{name: "smtp-addr", env: "COUNTERSIGN_SMTP_ADDR", str: &c.smtpAddr, usage: "SMTP relay `host:port` for outgoing mail"},
		{name: "smtp-user", env: "COUNTERSIGN_SMTP_USER", str: &c.smtpUser, usage: "SMTP user `name`"},
		{name: "smtp-password-file", env: "COUNTERSIGN_SMTP_PASSWORD_FILE", str: &c.smtpPasswordFile,
			usage: "`file` holding the SMTP password (or set COUNTERSIGN_SMTP_PASSWORD)"},
		{name: "smtp-from", env: "COUNTERSIGN_SMTP_FROM", str: &c.smtpFrom, usage: "sender `address` of outgoing mail"},
		{name: "smtp-tls", env: "COUNTERSIGN_SMTP_TLS", str: &c.smtpTLS, def: "starttls",
			usage: "`mode` of the SMTP connection: starttls, tls (implicit, port 465) or none (loopback relays only)"},
		{name: "log-format", env: "COUNTERSIGN_LOG_FORMAT", str: &c.logFormat, def: "text", usage: "log `format`: text or json"},
		{name: "log-level", env: "COUNTERSIGN_LOG_LEVEL", str: &c.logLevel, def: "info", usage: "log `level`: debug, info, warn or error"},
	}
}

const usageHead = `usage: countersign-server [flags]
       countersign-server pairing-code --login EMAIL_OR_PHONE [flags]
       countersign-server rotate-secrets-key --new-key-file FILE [flags]

The Countersign sign-in server. Every flag can also be set with the
environment variable named after it; a flag wins over the variable.
pairing-code prints a one-time countersign://pair URI (valid 10 minutes)
that pairs a desktop companion with the account, as the web page does.
rotate-secrets-key reseals the database's secrets under a new secrets key
(stop every server on the database first, start them with the new key).

Flags:
`

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	return parseConfigWith(args, getenv, stderr, nil)
}

// parseConfigWith is parseConfig with extra flags (a subcommand's).
func parseConfigWith(args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("countersign-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := options(c)
	set := map[string]bool{}
	for _, o := range opts {
		def := o.def
		if v := getenv(o.env); v != "" {
			def = v
			set[o.name] = true
		}
		usage := o.usage + " [$" + o.env + "]"
		if o.boolean != nil {
			b, err := parseBool(def)
			if err != nil {
				return nil, fmt.Errorf("%s=%q: %w", o.env, def, err)
			}
			fs.BoolVar(o.boolean, o.name, b, usage)
		} else {
			fs.StringVar(o.str, o.name, def, usage)
		}
	}
	fs.BoolVar(&c.showVersion, "version", false, "print the version and exit")
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHead)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() == 1 && fs.Arg(0) == "version" {
		c.showVersion = true
		return c, nil
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "countersign-server: unexpected argument %q; see --help\n", fs.Arg(0))
		return nil, errUsage
	}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.outboxFromFlagOrEnv = set["outbox"]
	c.publicURLFromFlagOrEnv = set["public-url"]
	c.smtpPassword = getenv("COUNTERSIGN_SMTP_PASSWORD")
	c.credentialsDir = getenv("CREDENTIALS_DIRECTORY")
	if c.showVersion {
		return c, nil
	}
	return c, c.complete(getenv)
}

// complete fills the defaults that depend on other settings and checks the
// whole.
func (c *config) complete(getenv func(string) string) error {
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want host:port, e.g. 127.0.0.1:8080", c.addr)
	}
	if c.metricsAddr == "off" {
		c.metricsAddr = "" // an empty variable means the default: off says none
	}
	if c.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q: want host:port, e.g. %s, or off for no metrics", c.metricsAddr, defaultMetricsAddr)
		}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.db == "" {
		c.db = "sqlite://" + store.DefaultSQLitePath(getenv)
	}
	c.dataDir = dataDir(c.db, getenv)
	if c.outbox == "" {
		c.outbox = filepath.Join(c.dataDir, "outbox")
	}
	if c.publicURL == "" {
		scheme := "http"
		if c.tlsCert != "" {
			scheme = "https"
		}
		ip := net.ParseIP(host)
		if host == "" || loopback.Host(host) || (ip != nil && ip.IsUnspecified()) {
			host = "localhost" // WebAuthn accepts localhost, not an IP address, as its relying party
		}
		c.publicURL = scheme + "://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("--public-url %q: want an origin like https://signin.example.com (scheme, host, optional port, no path)", c.publicURL)
	}
	c.publicURL = u.Scheme + "://" + u.Host
	if net.ParseIP(u.Hostname()) != nil {
		// The relying party id is the public URL's host, and browsers
		// refuse an IP address there (WebAuthn §5.1.3 wants a domain).
		c.warnings = append(c.warnings, fmt.Sprintf("--public-url %s is an IP address: browsers refuse an IP address as the WebAuthn relying party, "+
			"so security keys and passkeys cannot be registered or used; give a host name instead (localhost on this machine)", c.publicURL))
	}
	switch c.logFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	if _, err := c.level(); err != nil {
		return err
	}
	switch c.smtpTLS {
	case "starttls", "tls", "none":
	default:
		return fmt.Errorf("--smtp-tls %q: want starttls, tls or none", c.smtpTLS)
	}
	if c.smtpAddr != "" && c.smtpFrom == "" {
		return errors.New("--smtp-addr needs --smtp-from, the sender address of outgoing mail")
	}
	if c.smtpPasswordFile != "" {
		b, err := os.ReadFile(c.smtpPasswordFile)
		if err != nil {
			return fmt.Errorf("--smtp-password-file: %w", err)
		}
		c.smtpPassword = strings.TrimRight(string(b), "\r\n")
	}
	return nil
}

func (c *config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.logLevel)); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	return l, nil
}

// dataDir is where the server keeps files beside its database: the SQLite
// file's directory, or the XDG state directory for PostgreSQL.
func dataDir(db string, getenv func(string) string) string {
	if p, ok := strings.CutPrefix(db, "sqlite://"); ok {
		return filepath.Dir(p)
	}
	if !strings.Contains(db, "://") {
		return filepath.Dir(db)
	}
	state := getenv("XDG_STATE_HOME")
	if state == "" {
		state = filepath.Join(getenv("HOME"), ".local", "state")
	}
	return filepath.Join(state, "countersign-server")
}

func parseBool(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
}
