package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func document(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

// lookup follows a JSON pointer like "#/components/schemas/Account".
func lookup(doc map[string]any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := document(t)
	var walk func(v any, at string)
	n := 0
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				n++
				if _, ok := lookup(doc, ref); !ok {
					t.Errorf("%s: $ref %s does not resolve", at, ref)
				}
			}
			for k, c := range v {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range v {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "#")
	if n == 0 {
		t.Error("no $ref at all")
	}
	if s, ok := lookup(doc, "#/components/securitySchemes/bearerAuth/scheme"); !ok || s != "bearer" {
		t.Errorf("bearerAuth scheme = %v, want bearer", s)
	}
}

// TestSchemasMatchTypes: every wire type's JSON fields are its schema's
// properties, and the fields always sent are the required ones.
func TestSchemasMatchTypes(t *testing.T) {
	doc := document(t)
	types := map[string]any{
		"Account": Account{}, "Method": Method{}, "Device": Device{}, "DeviceList": DeviceList{},
		"DeviceUpdate": DeviceUpdate{}, "Session": Session{}, "SessionList": SessionList{},
		"SecurityKey": SecurityKey{}, "SecurityKeyList": SecurityKeyList{},
		"RegistrationStart": RegistrationStart{}, "RegistrationBegin": RegistrationBegin{}, "RegistrationFinish": RegistrationFinish{},
		"LoginBegin": LoginBegin{}, "LoginFinish": LoginFinish{}, "StepUpRequest": StepUpRequest{}, "StepUp": StepUp{},
		"Event": Event{}, "ActivityPage": ActivityPage{}, "Error": Error{},
		"App": App{}, "AppList": AppList{}, "SignedOut": SignedOut{},
		"Member": Member{}, "Household": Household{}, "MemberName": MemberName{}, "Invitation": Invitation{},
		"Shared": Shared{}, "ShareOffer": ShareOffer{}, "ShareOfferList": ShareOfferList{},
		"SharedEnrollment": SharedEnrollment{}, "Changed": Changed{}, "ShareOffered": ShareOffered{},
		"SyncStatus": SyncStatus{}, "SyncDevice": SyncDevice{}, "SyncStart": SyncStart{}, "SyncRecord": SyncRecord{},
		"SyncRecords": SyncRecords{}, "SyncPush": SyncPush{}, "SyncPushed": SyncPushed{}, "SyncConflict": SyncConflict{},
		"SyncJoinRequest": SyncJoinRequest{}, "SyncJoin": SyncJoin{}, "SyncJoinList": SyncJoinList{},
		"SyncApproval": SyncApproval{}, "SyncRotation": SyncRotation{}, "VaultChanged": VaultChanged{},
	}
	for name, v := range types {
		s, ok := lookup(doc, "#/components/schemas/"+name)
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		schema := s.(map[string]any)
		var props, required []string
		for p := range schema["properties"].(map[string]any) {
			props = append(props, p)
		}
		req, _ := schema["required"].([]any) // absent when every field may be left out
		for _, r := range req {
			required = append(required, r.(string))
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
			if f.Type == reflect.TypeOf(time.Time{}) {
				p := schema["properties"].(map[string]any)[tag].(map[string]any)
				if p["format"] != "date-time" {
					t.Errorf("%s.%s is a time but documented as %v", name, tag, p)
				}
			}
		}
		slices.Sort(props)
		slices.Sort(required)
		slices.Sort(fields)
		slices.Sort(always)
		if !slices.Equal(props, fields) {
			t.Errorf("%s: schema properties %v, Go fields %v", name, props, fields)
		}
		if !slices.Equal(required, always) {
			t.Errorf("%s: schema requires %v, Go always sends %v", name, required, always)
		}
	}
}

// collectCodes gathers the values of the Code… constants of a file.
func collectCodes(t *testing.T, codes *[]string) func(ast.Node) bool {
	return func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || !strings.HasPrefix(vs.Names[0].Name, "Code") {
			return true
		}
		lit := vs.Values[0].(*ast.BasicLit)
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		*codes = append(*codes, s)
		return true
	}
}

// TestErrorCodesDocumented: the Error schema's code enum is the Code
// constants.
func TestErrorCodesDocumented(t *testing.T) {
	var codes []string
	for _, file := range []string{"api.go", "approvals.go", "sync.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, collectCodes(t, &codes))
	}
	e, _ := lookup(document(t), "#/components/schemas/Error/properties/code/enum")
	var documented []string
	for _, c := range e.([]any) {
		documented = append(documented, c.(string))
	}
	slices.Sort(codes)
	slices.Sort(documented)
	if len(codes) == 0 || !slices.Equal(codes, documented) {
		t.Errorf("codes in Go %v, documented %v", codes, documented)
	}
}
