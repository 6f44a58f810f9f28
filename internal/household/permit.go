package household

import (
	"fmt"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/permit"
	"github.com/countersign/countersign/internal/store"
)

// Who may do what is package permit's table; the server's code names it
// through these, and words its refusals with Refusal.

type (
	Caller = permit.Caller
	Rule   = permit.Rule
	Action = permit.Action
)

// Kinds of callers (see permit.Caller).
const (
	OwnerDesktop  = permit.OwnerDesktop
	MemberDesktop = permit.MemberDesktop
	OwnerBrowser  = permit.OwnerBrowser
	MemberBrowser = permit.MemberBrowser
	ReadToken     = permit.ReadToken
	WriteToken    = permit.WriteToken
	OAuthToken    = permit.OAuthToken
)

// Rules (see permit.Rule).
const (
	No  = permit.No
	Yes = permit.Yes
	Own = permit.Own
	Off = permit.Off
)

// Actions (see permit.Action).
const (
	See              = permit.See
	RenameDevice     = permit.RenameDevice
	MoveDevice       = permit.MoveDevice
	RemoveDevice     = permit.RemoveDevice
	SignOutDevice    = permit.SignOutDevice
	EndSession       = permit.EndSession
	EndAllSessions   = permit.EndAllSessions
	AddKey           = permit.AddKey
	CheckKey         = permit.CheckKey
	RevokeApp        = permit.RevokeApp
	SeeDeveloperApps = permit.SeeDeveloperApps
	DeveloperApps    = permit.DeveloperApps
	Approve          = permit.Approve
	AnswerShare      = permit.AnswerShare
	AddMember        = permit.AddMember
	RenameMember     = permit.RenameMember
	RemoveMember     = permit.RemoveMember
	Invite           = permit.Invite
	Share            = permit.Share
	Pair             = permit.Pair
	Password         = permit.Password
	TwoStep          = permit.TwoStep
	APITokens        = permit.APITokens
	Consent          = permit.Consent
	StepUp           = permit.StepUp
	DisownSignIn     = permit.DisownSignIn
	Sync             = permit.Sync
)

// StepUpWindow is permit.StepUpWindow.
const StepUpWindow = permit.StepUpWindow

// Callers lists every kind, in the table's column order.
var Callers = permit.Callers

// RuleOf is what c may do with a.
func RuleOf(c Caller, a Action) Rule { return permit.RuleOf(c, a) }

// Permits says whether c may do a to something of the member target (see
// permit.Permits).
func Permits(c Caller, a Action, self, target string) bool { return permit.Permits(c, a, self, target) }

// NeedsFreshSignIn reports whether a needs a sign-in or a confirmation within
// StepUpWindow to do a.
func NeedsFreshSignIn(a Action) bool { return permit.NeedsFreshSignIn(a) }

// ActionNamed is the action whose constant is called name.
func ActionNamed(name string) (Action, bool) { return permit.ActionNamed(name) }

// Actions lists every action, in the table's order.
func Actions() []Action { return permit.Actions() }

// Markdown is the table as the README shows it.
func Markdown() string { return permit.Markdown() }

// Refusal is the sentence that refuses a to c: who may do it. target is
// the member whose device, session or self it was done to, for an action
// some callers may do to their own; nil for the rest.
func Refusal(c Caller, a Action, target *store.Member) string {
	if target == nil {
		switch {
		case (c == OwnerDesktop || c == MemberDesktop) && RuleOf(OwnerDesktop, a) == No:
			return "A paired desktop cannot " + a.Words() + ": use the web pages or an API token."
		case c == OwnerDesktop || c == OwnerBrowser:
			return "This cannot " + a.Words() + "."
		}
		return "Only the account's owner can " + a.Words() + "."
	}
	n := target.Name
	if target.Role == api.RoleOwner {
		switch a {
		case RenameMember:
			return fmt.Sprintf("Only %s, the account's owner, can rename %s.", n, n)
		case EndSession:
			return fmt.Sprintf("This session is not on one of your trusted browsers: only the account's owner, %s, can end it.", n)
		}
		return fmt.Sprintf("This device belongs to %s, the account's owner: only %s can change it.", n, n)
	}
	switch a {
	case RenameMember:
		return fmt.Sprintf("Only %s or the account's owner can rename %s.", n, n)
	case EndSession:
		return fmt.Sprintf("This session runs on a browser of %s's: only %s or the account's owner can end it.", n, n)
	}
	return fmt.Sprintf("This device belongs to %s: only %s or the account's owner can change it.", n, n)
}
