package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
)

// TestEveryActivityKindHasWords: every kind of activity the store knows
// (the Act… constants) is named in plain words by api.ActivityTitle, the
// one table the web pages, the window and the command line show.
func TestEveryActivityKindHasWords(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "store.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "Act") || i >= len(vs.Values) {
				continue
			}
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			kind, _ := strconv.Unquote(lit.Value)
			n++
			if api.ActivityTitle(kind) == kind {
				t.Errorf("%s (%q) has no words in api.ActivityTitle", name.Name, kind)
			}
		}
		return true
	})
	if n < 40 {
		t.Errorf("found %d activity kinds in store.go; the test no longer finds them", n)
	}
}
