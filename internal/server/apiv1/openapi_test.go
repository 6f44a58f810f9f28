package apiv1

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
)

// operation is one documented (method, path).
type operation struct {
	method, path string
	security     []map[string][]string // nil: the document's default
	responses    map[string]any
}

func documented(t *testing.T) []operation {
	t.Helper()
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security  []map[string][]string `json:"security"`
			Responses map[string]any        `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	var ops []operation
	for path, item := range doc.Paths {
		for method, op := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops = append(ops, operation{strings.ToUpper(method), path, op.Security, op.Responses})
			}
		}
	}
	return ops
}

// TestOpenAPIMatchesRoutes: the document lists exactly the routes the
// handler serves, with the right security, and every operation answers.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ops := documented(t)
	key := func(method, path string) string { return method + " " + path }
	doc := map[string]operation{}
	for _, op := range ops {
		doc[key(op.method, op.path)] = op
	}
	served := map[string]route{}
	for _, rt := range routes {
		served[key(rt.Method, rt.Pattern)] = rt
	}
	for k := range served {
		if _, ok := doc[k]; !ok {
			t.Errorf("%s is served but not in openapi.json", k)
		}
	}
	for k := range doc {
		if _, ok := served[k]; !ok {
			t.Errorf("%s is in openapi.json but not served", k)
		}
	}

	e := newEnv(t)
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		op := doc[k]
		rt, ok := served[k]
		if !ok {
			continue
		}
		open := op.security != nil && len(op.security) == 0
		if open != (rt.Act == public) {
			t.Errorf("%s: documented public %v, served without a token %v", k, open, rt.Act == public)
		}
		if !open {
			for _, code := range []string{"401", "403", "500"} {
				if _, ok := op.responses[code]; !ok {
					t.Errorf("%s does not document %s", k, code)
				}
			}
		}
		path := strings.NewReplacer("{id}", "unknown-id", "{challenge_id}", "unknown-challenge", "{client_id}", "unknown-client").Replace(op.path)
		body := ""
		if op.method == "POST" || op.method == "PATCH" {
			body = "{}"
		}
		r := e.do(t, req{method: op.method, path: path, token: e.rw, body: body})
		if r.status == http.StatusMethodNotAllowed || (r.status == http.StatusNotFound && strings.Contains(string(r.body), "no such API address")) {
			t.Errorf("%s: the router answered %d", k, r.status)
			continue
		}
		if _, ok := op.responses[strconv.Itoa(r.status)]; !ok {
			t.Errorf("%s answered %d, which it does not document (%s)", k, r.status, r.body)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{method: "GET", path: "/api/v1/openapi.json"})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
	}
	if !bytes.Equal(r.body, api.OpenAPI()) {
		t.Error("the served document differs from the checked-in one")
	}
}

// TestApprovalSchemas: the schemas of the pairing and approval wire types,
// and of the already_decided answer, are their Go structs: every JSON
// field a property, the fields always sent the required ones, times
// date-time. (internal/api checks the older types the same way.)
func TestApprovalSchemas(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required   []string                  `json:"required"`
				Properties map[string]map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"DeveloperApp": api.DeveloperApp{}, "DeveloperAppList": api.DeveloperAppList{}, "NewDeveloperApp": api.NewDeveloperApp{}, "ClientSecret": api.ClientSecret{},
		"Pairing": api.Pairing{}, "AccountRef": api.AccountRef{}, "PairingResult": api.PairingResult{},
		"AuthChallengeRequest": api.AuthChallengeRequest{}, "AuthChallenge": api.AuthChallenge{},
		"AuthTokenRequest": api.AuthTokenRequest{}, "AuthToken": api.AuthToken{},
		"Approver": api.Approver{}, "ApproverList": api.ApproverList{},
		"Approval": api.Approval{}, "ApprovalList": api.ApprovalList{},
		"Resolved": api.Resolved{}, "Unpaired": api.Unpaired{}, "StreamEvent": api.StreamEvent{}, "PollResult": api.PollResult{},
		"Decision": api.Decision{}, "DecisionResult": api.DecisionResult{},
		"App": api.App{}, "AppList": api.AppList{},
		"AlreadyDecidedError": alreadyDecided{},
	}
	for name, v := range types {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		var fields, always []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			f := rt.Field(i)
			tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields = append(fields, tag)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				always = append(always, tag)
			}
			if f.Type == reflect.TypeFor[time.Time]() && s.Properties[tag]["format"] != "date-time" {
				t.Errorf("%s.%s is a time but documented as %v", name, tag, s.Properties[tag])
			}
		}
		props := slices.Sorted(maps.Keys(s.Properties))
		slices.Sort(fields)
		slices.Sort(always)
		required := slices.Sorted(slices.Values(s.Required))
		if !slices.Equal(props, fields) {
			t.Errorf("%s: schema properties %v, Go fields %v", name, props, fields)
		}
		if !slices.Equal(required, always) {
			t.Errorf("%s: schema requires %v, Go always sends %v", name, required, always)
		}
	}
}

// TestApprovalCodesDocumented: the codes the approval endpoints answer
// with are in the Error schema.
func TestApprovalCodesDocumented(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Code struct {
							Enum []string `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas.Error.Properties.Code.Enum
	for _, code := range []string{
		api.CodeInvalidCode, api.CodeDeviceRevoked, api.CodeInvalidSignature, api.CodeAlreadyDecided, api.CodeExpired,
		api.CodeForeign, api.CodeKeyRequired, api.CodeKeyFailed, api.CodeTooMany,
	} {
		if !slices.Contains(enum, code) {
			t.Errorf("code %q is not documented", code)
		}
	}
}
