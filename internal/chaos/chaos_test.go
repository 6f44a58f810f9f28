//go:build chaos

package chaos

import "testing"

// TestMain prints the table after every case ran (see table.go).
func TestMain(m *testing.M) { Main(m) }
