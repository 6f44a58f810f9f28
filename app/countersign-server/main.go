// Command countersign-server is the Countersign sign-in server: accounts,
// passwords, two-step verification, security keys, trusted devices, sessions
// and the activity log, as web pages for people and a JSON API for the
// desktop companion. SQLite is the embedded default; PostgreSQL serves
// production. See --help and the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped by the Makefile from git.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "countersign-server:", err)
		os.Exit(1)
	}
}

// run parses the configuration, opens the store and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "pairing-code" {
		return pairingCode(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "rotate-secrets-key" {
		return rotateSecretsKey(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, "countersign-server", version)
		return nil
	}
	return serve(ctx, cfg, stderr)
}
