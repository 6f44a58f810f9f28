//go:build chaos

package chaos

import "testing"

// TestServerFaults breaks the server's side, one case (and one row) per
// subtest. The case of a server down past a request's expiry waits two
// minutes for that expiry: it is begun first and finished last, the other
// cases running meanwhile.
func TestServerFaults(t *testing.T) {
	expiry := beginDownPastExpiry(t)
	t.Run("killed", serverKilled)
	t.Run("instances", twoInstances)
	t.Run("postgres-restart", postgresRestart)
	t.Run("disk-full", diskFull)
	t.Run("killed-past-expiry", expiry.finish)
}
