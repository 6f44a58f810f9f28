//go:build !unix

package pgtest

import (
	"os"
	"syscall"
)

var (
	interruptSignal = os.Kill
	immediateSignal = os.Kill
)

type osUser struct{}

func serverOwner() (*osUser, error) { return nil, nil }

func (*osUser) chown(string) error { return nil }

func (*osUser) sysProcAttr() *syscall.SysProcAttr { return nil }
