// Package permit is who may do what to a Countersign account, in one
// table: every action of API v1 and the web pages against every kind of
// caller. The server enforces from it (package household words its
// refusals, API v1 derives each route's token scope, the web pages their
// refusals), the README's permission table is checked against its text,
// one test walks every cell against the running server, and the desktop
// companion offers only what it permits. It has no dependencies, so that
// the companion links it without the server's.
package permit

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Caller is a kind of caller.
type Caller int

// Kinds of callers. A desktop acts as the member it belongs to; a browser
// session as the member whose second step signed it in (their desktop's
// approval, their security key, their trusted browser; the owner for the
// account's password alone, its authenticator, text messages and backup
// codes); API tokens act as the owner within their scopes; OAuth access
// tokens reach only the OpenID userinfo endpoint.
const (
	OwnerDesktop Caller = iota
	MemberDesktop
	OwnerBrowser
	MemberBrowser
	ReadToken  // an API token's "read" scope
	WriteToken // an API token's "write" scope
	OAuthToken
	numCallers
)

// Callers lists every kind, in the table's column order.
var Callers = []Caller{OwnerDesktop, MemberDesktop, OwnerBrowser, MemberBrowser, ReadToken, WriteToken, OAuthToken}

func (c Caller) String() string {
	return [...]string{"owner's desktop", "member's desktop", "owner's browser", "member's browser",
		"API token, read", "API token, write", "OAuth access token"}[c]
}

// Rule is what one kind of caller may do with one action.
type Rule int

const (
	No  Rule = iota // refused
	Yes             // on anything of the account
	Own             // only on what is the caller's member's: their devices, their browsers' sessions, themselves
	Off             // not offered to this kind of caller at all (a web form for a token), refused like No
)

func (r Rule) String() string { return [...]string{"no", "yes", "own", "—"}[r] }

// Action is something a caller does to an account.
type Action int

// Actions. The API and the web pages name theirs with these.
const (
	See              Action = iota // read the account, devices, sessions, keys, apps, activity, household
	RenameDevice                   // a trusted browser, paired desktop or security key
	MoveDevice                     // give a device to another member
	RemoveDevice                   // remove a trusted browser, paired desktop or security key
	SignOutDevice                  // end a trusted browser's sessions
	EndSession                     // one session
	EndAllSessions                 // every session but the caller's
	AddKey                         // register a security key (it is the caller's member's)
	CheckKey                       // ask for a security key's touch
	RevokeApp                      // remove an app's access to the account
	SeeDeveloperApps               // list the OAuth apps the account registered
	DeveloperApps                  // register, rotate the secret of, or delete an OAuth app
	Approve                        // receive and decide sign-in requests
	AnswerShare                    // accept or decline an authenticator offered to this desktop
	AddMember
	RenameMember
	RemoveMember
	Invite    // make a pairing code for a member's desktop
	Share     // share the authenticator with a member, or stop
	Pair      // make a pairing code for a desktop of one's own
	Password  // change the password
	TwoStep   // set up, change or turn off two-step methods and backup codes, require a key for approvals
	APITokens // make or revoke API tokens
	Consent   // let an app sign in to the account
	StepUp    // confirm it is the account's person through the API (password or security key), for the actions that need a fresh sign-in
	// DisownSignIn is "This wasn't me" on a sign-in alert: that sign-in's
	// session ends with the apps' tokens issued in it. Ending is the safe
	// direction: it needs no fresh sign-in.
	DisownSignIn
	Sync // sync the vault between the member's own desktops (end-to-end encrypted)
	numActions
)

// row is an action's rules, its words in the README and in refusals.
type row struct {
	act   Action
	name  string // the constant's, for templates (ActionNamed)
	words string // "rename a device": for the table and "Only the account's owner can …"
	rules [numCallers]Rule
}

// The columns: owner's desktop, member's desktop, owner's browser,
// member's browser, read token, write token, OAuth token.
var table = []row{
	{See, "See", "see the account, devices, sessions, security keys, apps, activity and household", [numCallers]Rule{Yes, Yes, Yes, Yes, Yes, No, No}},
	{RenameDevice, "RenameDevice", "rename a device", [numCallers]Rule{Yes, Own, Yes, Own, No, Yes, No}},
	{MoveDevice, "MoveDevice", "move a device to another member", [numCallers]Rule{Yes, No, Yes, No, No, Yes, No}},
	{RemoveDevice, "RemoveDevice", "remove a device", [numCallers]Rule{Yes, Own, Yes, Own, No, Yes, No}},
	{SignOutDevice, "SignOutDevice", "sign out a trusted browser", [numCallers]Rule{Yes, Own, Yes, Own, No, Yes, No}},
	{EndSession, "EndSession", "end a session", [numCallers]Rule{Yes, Own, Yes, Own, No, Yes, No}},
	{EndAllSessions, "EndAllSessions", "end every session", [numCallers]Rule{Yes, No, Yes, No, No, Yes, No}},
	{DisownSignIn, "DisownSignIn", `say "This wasn't me" to a sign-in alert`, [numCallers]Rule{Yes, Own, Off, Off, No, Yes, No}},
	{AddKey, "AddKey", "add a security key", [numCallers]Rule{Yes, Own, Yes, Own, No, Yes, No}},
	{CheckKey, "CheckKey", "check a security key", [numCallers]Rule{Yes, Yes, Off, Off, No, Yes, No}},
	{RevokeApp, "RevokeApp", "remove an app's access", [numCallers]Rule{Yes, No, Yes, No, No, Yes, No}},
	{SeeDeveloperApps, "SeeDeveloperApps", "see the OAuth apps the account registered", [numCallers]Rule{No, No, Yes, Yes, Yes, No, No}},
	{DeveloperApps, "DeveloperApps", "register, change or delete an OAuth app", [numCallers]Rule{No, No, Yes, No, No, Yes, No}},
	{Approve, "Approve", "answer sign-in requests", [numCallers]Rule{Yes, Yes, Off, Off, No, No, No}},
	{AnswerShare, "AnswerShare", "accept or decline a shared authenticator", [numCallers]Rule{Own, Own, Off, Off, No, No, No}},
	{AddMember, "AddMember", "add household members", [numCallers]Rule{Yes, No, Yes, No, No, Yes, No}},
	{RenameMember, "RenameMember", "rename a household member", [numCallers]Rule{Yes, Own, Yes, Own, No, Yes, No}},
	{RemoveMember, "RemoveMember", "remove household members", [numCallers]Rule{Yes, No, Yes, No, No, Yes, No}},
	{Invite, "Invite", "invite a household member's desktop", [numCallers]Rule{Yes, No, Yes, No, No, Yes, No}},
	{Share, "Share", "share the account's authenticator or stop sharing it", [numCallers]Rule{Yes, No, Yes, No, No, Yes, No}},
	{Pair, "Pair", "pair a desktop", [numCallers]Rule{Off, Off, Yes, Own, Off, Off, No}},
	{Password, "Password", "change the password", [numCallers]Rule{Off, Off, Yes, No, Off, Off, No}},
	{TwoStep, "TwoStep", "change two-step verification", [numCallers]Rule{Off, Off, Yes, No, Off, Off, No}},
	{APITokens, "APITokens", "make or revoke API tokens", [numCallers]Rule{Off, Off, Yes, No, Off, Off, No}},
	{Consent, "Consent", "let an app sign in to the account", [numCallers]Rule{Off, Off, Yes, No, Off, Off, No}},
	{StepUp, "StepUp", "confirm it is you through the API, for 5 minutes", [numCallers]Rule{Yes, Yes, Off, Off, No, Yes, No}},
	{Sync, "Sync", "sync the vault between one's own desktops", [numCallers]Rule{Own, Own, Off, Off, No, No, No}},
}

// StepUpWindow is how long a fresh sign-in lasts for the actions that need
// one: a browser's sign-in, or a confirmation through the API (StepUp).
const StepUpWindow = 5 * time.Minute

// freshSignIn are the actions that need a fresh sign-in: those that hand
// out access (API tokens, the shared authenticator, a new security key, an
// OAuth app's secret, a pairing code for a desktop that will approve
// sign-ins), change who owns what, or weaken the sign-in (two-step
// settings). A browser must have signed in within StepUpWindow; a desktop or
// an API token must have confirmed, within StepUpWindow, that the account's
// person is at it (the password or one of its member's security keys): a
// stolen token alone does none of these.
var freshSignIn = []Action{AddKey, MoveDevice, DeveloperApps, Invite, Share, Pair, TwoStep, APITokens}

// NeedsFreshSignIn reports whether a needs a sign-in or a confirmation
// within StepUpWindow.
func NeedsFreshSignIn(a Action) bool { return slices.Contains(freshSignIn, a) }

// rows is table by action, checked complete when the package loads.
var rows = func() [numActions]*row {
	var out [numActions]*row
	for i := range table {
		if out[table[i].act] != nil {
			panic(fmt.Sprintf("permit: action %d twice in the permission table", table[i].act))
		}
		out[table[i].act] = &table[i]
	}
	for a, r := range out {
		if r == nil {
			panic(fmt.Sprintf("permit: action %d missing from the permission table", a))
		}
	}
	return out
}()

// RuleOf is what c may do with a.
func RuleOf(c Caller, a Action) Rule { return rows[a].rules[c] }

// Words names a for people: "rename a device".
func (a Action) Words() string { return rows[a].words }

// ActionNamed is the action whose constant is called name ("RemoveDevice"),
// for the page templates.
func ActionNamed(name string) (Action, bool) {
	for _, r := range table {
		if r.name == name {
			return r.act, true
		}
	}
	return 0, false
}

// Actions lists every action, in the table's order.
func Actions() []Action {
	out := make([]Action, len(table))
	for i := range table {
		out[i] = table[i].act
	}
	return out
}

// Permits says whether c may do a to something of the member target, where
// self is the caller's member: Yes always, Own when target is self, never
// otherwise. An empty target or self is nobody's and permits only Yes.
func Permits(c Caller, a Action, self, target string) bool {
	switch RuleOf(c, a) {
	case Yes:
		return true
	case Own:
		return self != "" && target == self
	}
	return false
}

// Markdown is the table as the README shows it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| action |")
	for _, c := range Callers {
		b.WriteString(" " + c.String() + " |")
	}
	b.WriteString(" needs a fresh sign-in |\n|---|")
	for range Callers {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, r := range table {
		b.WriteString("| " + r.words + " |")
		for _, c := range Callers {
			b.WriteString(" " + r.rules[c].String() + " |")
		}
		if NeedsFreshSignIn(r.act) {
			b.WriteString(" yes |\n")
		} else {
			b.WriteString(" |\n")
		}
	}
	return b.String()
}
