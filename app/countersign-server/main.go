// Command countersign-server is the Countersign sign-in server. This build
// has only --version and --help; the server itself is not part of it yet.
package main

import (
	"flag"
	"fmt"
	"os"
)

// version is stamped by the Makefile from git.
var version = "dev"

func main() {
	fs := flag.NewFlagSet("countersign-server", flag.ContinueOnError)
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: countersign-server [--version]")
		fmt.Fprintln(fs.Output(), "\nThe sign-in server of Countersign. This build only reports its version.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			return
		}
		os.Exit(2)
	}
	if *showVersion || fs.Arg(0) == "version" {
		fmt.Println("countersign-server", version)
		return
	}
	fs.Usage()
	os.Exit(2)
}
