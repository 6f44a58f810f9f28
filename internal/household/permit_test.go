package household

import (
	"os"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// TestREADMEShowsThePermissionTable: the README's table is this package's,
// word for word.
func TestREADMEShowsThePermissionTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), Markdown()) {
		t.Errorf("README.md does not show the permission table as it is; put this in its place:\n%s", Markdown())
	}
}

func TestPermits(t *testing.T) {
	tests := []struct {
		c            Caller
		a            Action
		self, target string
		want         bool
	}{
		{MemberDesktop, RenameDevice, "sam", "sam", true},
		{MemberDesktop, RenameDevice, "sam", "owner", false}, // act on the owner
		{MemberDesktop, MoveDevice, "sam", "sam", false},     // not even their own: who they are would move
		{OwnerDesktop, MoveDevice, "owner", "sam", true},
		{MemberBrowser, EndSession, "sam", "sam", true},
		{MemberBrowser, EndAllSessions, "sam", "sam", false},
		{MemberDesktop, RenameMember, "sam", "sam", true}, // act on yourself
		{MemberDesktop, RenameMember, "sam", "kim", false},
		{MemberDesktop, RenameDevice, "", "", false}, // an empty member is nobody
		{ReadToken, RenameDevice, "owner", "owner", false},
		{WriteToken, See, "owner", "owner", false},
		{OAuthToken, See, "owner", "owner", false},
		{OwnerBrowser, Password, "owner", "owner", true},
		{MemberBrowser, Password, "sam", "sam", false},
	}
	for _, tt := range tests {
		if got := Permits(tt.c, tt.a, tt.self, tt.target); got != tt.want {
			t.Errorf("Permits(%s, %q, %q, %q) = %v, want %v", tt.c, tt.a.Words(), tt.self, tt.target, got, tt.want)
		}
	}
}

func TestRefusalSaysWho(t *testing.T) {
	owner := &store.Member{Name: "Ada", Role: api.RoleOwner}
	sam := &store.Member{Name: "Sam", Role: api.RoleMember}
	tests := []struct {
		c      Caller
		a      Action
		target *store.Member
		want   string
	}{
		{MemberDesktop, AddMember, nil, "Only the account's owner can add household members."},
		{OwnerDesktop, DeveloperApps, nil, "A paired desktop cannot register, change or delete an OAuth app: use the web pages or an API token."},
		{MemberDesktop, RemoveDevice, owner, "This device belongs to Ada, the account's owner: only Ada can change it."},
		{MemberBrowser, RemoveDevice, sam, "This device belongs to Sam: only Sam or the account's owner can change it."},
		{MemberDesktop, RenameMember, owner, "Only Ada, the account's owner, can rename Ada."},
		{MemberDesktop, EndSession, sam, "This session runs on a browser of Sam's: only Sam or the account's owner can end it."},
	}
	for _, tt := range tests {
		if got := Refusal(tt.c, tt.a, tt.target); got != tt.want {
			t.Errorf("Refusal(%s, %q) = %q, want %q", tt.c, tt.a.Words(), got, tt.want)
		}
	}
}
