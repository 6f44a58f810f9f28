package bench_test

import (
	"crypto/sha256"
	"path/filepath"
	"runtime"
)

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

func filepathJoin(dir, name string) string { return filepath.Join(dir, name) }
