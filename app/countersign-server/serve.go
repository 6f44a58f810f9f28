package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/loopback"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/server"
)

// serve runs the server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, cfg *config, stderr io.Writer) error {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	for _, w := range cfg.warnings {
		log.Warn(w)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	defer ln.Close()
	if cfg.dev && !isLoopback(ln.Addr()) {
		return fmt.Errorf("--dev seeds an account with a published password: listen on a loopback address (e.g. --addr 127.0.0.1:8080), not %s", ln.Addr())
	}

	db, sk, err := openStore(ctx, cfg, cfg.dev)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case sk.created:
		log.Info("made a secrets key beside the database (--dev)", "file", sk.path, "key_id", sk.key.ID())
	case sk.beside && !cfg.dev:
		log.Warn("the secrets key lies beside the database: a copy of the directory holds both; give it with --secrets-key-file from elsewhere or as the systemd credential "+secretsKeyCredential, "file", sk.path)
	}
	if n := db.SealedOnOpen(); n > 0 {
		log.Info("sealed the database's secrets under the secrets key", "secrets", n, "key_id", sk.key.ID(), "key", sk.source)
	}

	outbox, err := notify.NewOutbox(cfg.outbox, log.With("component", "outbox"), time.Now)
	if err != nil {
		return err
	}
	var mailer notify.Mailer = outbox
	if cfg.smtpAddr != "" {
		smtp, err := notify.NewSMTP(notify.SMTPConfig{Addr: cfg.smtpAddr, Username: cfg.smtpUser, Password: cfg.smtpPassword, From: cfg.smtpFrom, TLS: cfg.smtpTLS})
		if err != nil {
			return err
		}
		mailer = smtp
	} else if !cfg.dev {
		log.Warn("no SMTP relay configured: outgoing mail is written to the outbox directory", "outbox", cfg.outbox)
	}

	var geo approval.Locator
	if cfg.geoip != "" {
		if geo, err = approval.OpenGeoIP(cfg.geoip); err != nil {
			return fmt.Errorf("--geoip: %w", err)
		}
		if c, ok := geo.(io.Closer); ok {
			defer c.Close()
		}
	}
	srv, err := server.New(server.Config{
		PublicURL:  cfg.publicURL,
		Store:      db,
		Mailer:     mailer,
		SMS:        outbox,
		Log:        log,
		Dev:        cfg.dev,
		TrustProxy: cfg.trustProxy,
		GeoIP:      geo,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	if cfg.dev {
		created, err := srv.SeedDemo(ctx)
		if err != nil {
			return fmt.Errorf("seed the demo account: %w", err)
		}
		if created {
			log.Info("seeded the demo account", "email", server.DemoEmail, "password", server.DemoPassword)
		}
	}

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Open event streams (approvals) end when shutting down, or they would
	// hold Shutdown until its deadline.
	hs.RegisterOnShutdown(srv.EndStreams)
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}

	// The metrics port is taken last: a server that fails to start never holds it.
	var metricsLn net.Listener
	if cfg.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return fmt.Errorf("listen on --metrics-addr %s: %w; choose another host:port, or --metrics-addr off", cfg.metricsAddr, err)
		}
		defer metricsLn.Close()
	}
	servers := []*http.Server{hs}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	metricsAt := "off"
	if metricsLn != nil {
		ms := &http.Server{
			Handler:           srv.MetricsHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          hs.ErrorLog,
		}
		servers = append(servers, ms)
		go func() { errc <- ms.Serve(metricsLn) }()
		metricsAt = metricsLn.Addr().String()
	}
	log.Info("countersign-server listening", "addr", ln.Addr().String(), "public_url", cfg.publicURL,
		"metrics_addr", metricsAt, "db", redactDB(cfg.db), "dev", cfg.dev, "version", version)

	select {
	case err := <-errc:
		for _, s := range servers {
			s.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shut down: %w", err)
		}
	}
	for range servers {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("stopped")
	return nil
}

func newLogger(cfg *config, w io.Writer) (*slog.Logger, error) {
	level, err := cfg.level()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && loopback.Host(tcp.IP.String())
}

// redactDB drops a password from a database URL before it is logged.
func redactDB(db string) string {
	u, err := url.Parse(db)
	if err != nil || u.User == nil {
		return db
	}
	return u.Redacted()
}
