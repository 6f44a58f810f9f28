// Package testkit is the scaffold Countersign's tests share instead of each
// keeping its own copy: a Clock that moves only when told (with timers), an
// in-memory FakeKeyring, and Keyring, which hands a test the real Secret
// Service under .ci/keyring-session and the fake otherwise.
//
// It is only for tests: _test.go files and the test helper packages
// (approvertest and the like) may import it; no program may, and a test
// here fails the build if one does.
package testkit
