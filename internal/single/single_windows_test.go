package single

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// socket is the pipe of a data folder of this test's own, so that tests
// running at once (or a Countersign running beside them) never meet.
func socket(t *testing.T) string {
	t.Helper()
	// A folder that need not exist: t.TempDir's clean-up fails under Wine 8
	// (Go's RemoveAll uses a call Wine lacks).
	p, err := SocketPath("", `C:\countersign-test\`+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPipeIsNamedForUserAndFolder(t *testing.T) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	a, err := SocketPath("", `C:\Users\Ada\AppData\Roaming\Countersign`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `\\.\pipe\countersign-` + u.User.Sid.String() + "-"; !strings.HasPrefix(a, want) {
		t.Errorf("pipe %s, want it to start %s", a, want)
	}
	if b, _ := SocketPath("", `c:\users\ada\appdata\roaming\countersign`); b != a {
		t.Errorf("one folder spelt in two cases has two pipes: %s and %s", a, b)
	}
	if c, _ := SocketPath("", `D:\Countersign`); c == a {
		t.Error("two data folders share one pipe")
	}
}

// TestPipeAdmitsOnlyTheUser reads the pipe's security descriptor back from
// Windows: this user owns it, and its DACL, protected from inheritance, has
// one entry, which allows this user.
func TestPipeAdmitsOnlyTheUser(t *testing.T) {
	path := socket(t)
	in, err := Claim(path, Request{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c, err := dial(path, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sd, err := windows.GetSecurityInfo(windows.Handle(c.(*os.File).Fd()), windows.SE_KERNEL_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := userSID()
	if owner, _, err := sd.Owner(); err != nil || !owner.Equals(me) {
		t.Errorf("pipe owner %v (%v), want %v", owner, err, me)
	}
	ctl, _, _ := sd.Control()
	if ctl&windows.SE_DACL_PROTECTED == 0 {
		t.Errorf("the DACL is not protected: %s", sd)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("no DACL (%v): anyone may open the pipe", err)
	}
	if dacl.AceCount != 1 {
		t.Fatalf("%d entries in the DACL, want 1: %s", dacl.AceCount, sd)
	}
	var ace *windows.ACCESS_ALLOWED_ACE
	if err := windows.GetAce(dacl, 0, &ace); err != nil {
		t.Fatal(err)
	}
	sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
	if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || !sid.Equals(me) {
		t.Errorf("the DACL's entry is type %d for %v, want allowed for %v: %s", ace.Header.AceType, sid, me, sd)
	}
}

// TestPipeOfAnotherOwnerGetsNoRequest: pipe names are one namespace for
// every user, so someone could make the window's pipe first. A start finds
// a pipe owned by someone else, hands it nothing and says so, instead of
// exiting as if its window were open.
func TestPipeOfAnotherOwnerGetsNoRequest(t *testing.T) {
	path := socket(t)
	me, _ := userSID()
	// Owned by the local Administrators group, as an elevated process's
	// objects are by default; open to this user.
	ln, err := listenPipe(path, "O:BAD:P(A;;GA;;;"+me.String()+")")
	if err != nil {
		t.Fatalf("making a pipe owned by Administrators: %v", err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 100)
		n, _ := c.Read(b)
		got <- string(b[:n])
	}()
	_, err = Claim(path, Request{Show: "account"})
	if err == nil || errors.Is(err, ErrRunning) || !errors.Is(err, errNotMine) {
		t.Fatalf("a start beside another owner's pipe: %v, want it to say the pipe is another user's", err)
	}
	select {
	case b := <-got:
		if b != "" {
			t.Errorf("the other owner's pipe was sent %q", b)
		}
	default:
	}
}
