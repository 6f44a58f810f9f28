package pgtest

import "syscall"

// sysProcAttr runs the process as u and has the kernel stop the server
// (immediate shutdown) should the test binary die without calling Main's
// cleanup.
func (u *osUser) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if u != nil {
		a.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}
	}
	return a
}
