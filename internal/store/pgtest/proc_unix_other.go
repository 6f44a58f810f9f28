//go:build unix && !linux

package pgtest

import "syscall"

func (u *osUser) sysProcAttr() *syscall.SysProcAttr {
	if u == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}}
}
