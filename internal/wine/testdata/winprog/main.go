// Command winprog is the Windows program the wine package's tests run under
// Wine: it starts only when the ProcessPrng shim is in place (Go's runtime
// needs it), and does what its arguments say so that the harness's output,
// exit status, environment, paths, timeout and cleanup can be checked.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: winprog echo|exit N|env NAME|random|sleep D|removeall DIR|cwd")
		os.Exit(2)
	}
	switch arg := func(i int) string {
		if i < len(os.Args) {
			return os.Args[i]
		}
		return ""
	}; os.Args[1] {
	case "echo": // stdout and stderr apart
		fmt.Println("out:", arg(2))
		fmt.Fprintln(os.Stderr, "err:", arg(2))
	case "exit":
		n, _ := strconv.Atoi(arg(2))
		os.Exit(n)
	case "env":
		fmt.Print(os.Getenv(arg(2)))
	case "random":
		b := make([]byte, 16)
		rand.Read(b)
		fmt.Print(hex.EncodeToString(b))
	case "sleep":
		d, _ := time.ParseDuration(arg(2))
		time.Sleep(d)
	case "removeall": // Wine 8 lacks what Go's os.RemoveAll asks of Windows first
		if err := os.RemoveAll(arg(2)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "cwd":
		wd, _ := os.Getwd()
		fmt.Print(wd)
	default:
		fmt.Fprintln(os.Stderr, "winprog: unknown command", os.Args[1])
		os.Exit(2)
	}
}
