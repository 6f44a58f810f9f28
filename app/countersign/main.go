// Command countersign is the Countersign desktop companion: with no
// arguments it opens the window (with --hidden, in the system tray; with
// --show SCREEN, on that screen); with a
// subcommand it is the command line of package cli.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/countersign/countersign/app/ui"
	"github.com/countersign/countersign/internal/cli"
	_ "github.com/countersign/countersign/internal/clocale" // before Fyne's locale detection
	"github.com/countersign/countersign/internal/console"
)

// version is stamped by the Makefile from git.
var version = "dev"

// Nothing here reads heap profiles: without the runtime's sampling of
// allocations, a long-lived window keeps no profile buckets (1.4 MiB of its
// resident size, see make bench-ui).
func init() { runtime.MemProfileRate = 0 }

func main() {
	console.Attach()
	var err error
	switch {
	case len(os.Args) == 1:
		err = runGUI(false, "")
	case len(os.Args) == 2 && os.Args[1] == "--hidden":
		err = runGUI(true, "")
	case len(os.Args) == 3 && os.Args[1] == "--show":
		if err = ui.CheckScreenName(os.Args[2]); err == nil {
			err = runGUI(false, os.Args[2])
		} else {
			err = fmt.Errorf("%w: %w", cli.ErrUsage, err)
		}
	default:
		err = cli.Run(cli.OSEnv(version), os.Args[1:])
	}
	switch {
	case err == nil, cli.IsHelp(err):
	case errors.Is(err, cli.ErrUsage):
		fmt.Fprintln(os.Stderr, "countersign:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "countersign:", err)
		os.Exit(1)
	}
}
