package api

// scopeWords say what each scope of Sign in with Countersign lets an app
// do, for every place that shows it: the consent page, the web's and the
// window's lists of apps, and the command line.
var scopeWords = map[string]string{
	"openid":          "Sign you in",
	"profile":         "See your name",
	"email":           "See your email address",
	"profile:user_id": "See your Countersign user ID",
	"postal_code":     "See your postal code",
	"offline_access":  "Stay signed in while you are away",
}

// ScopeWords says what a scope lets an app do ("See your email address");
// an unknown scope is itself.
func ScopeWords(scope string) string {
	if w, ok := scopeWords[scope]; ok {
		return w
	}
	return scope
}
