//go:build cgo

package fido

/*
#cgo LDFLAGS: -lfido2
#include <fido.h>
#include <stdlib.h>

// The getInfo fields go-libfido2 does not expose. rk_remaining is -1 when
// the key does not report it, and so when the library cannot read it:
// fido_cbor_info_minpinlen and fido_cbor_info_rk_remaining came in
// libfido2 1.7 and 1.8, and the Windows fido2.dll that go-libfido2 bundles
// is older. There they are looked up in the loaded DLL at run time
// (GetProcAddress), and a missing one reads as "not reported" (minimum
// PIN length 0, slots -1), which the window and the CLI leave out. Elsewhere
// the system's libfido2 has them and they are linked as usual.
#ifdef _WIN32
#include <windows.h>
typedef uint64_t (*countersign_u64_fn)(const fido_cbor_info_t *);
typedef int64_t (*countersign_i64_fn)(const fido_cbor_info_t *);
static FARPROC countersign_lookup(const char *name) {
	HMODULE m = GetModuleHandleA("fido2.dll");
	return m == NULL ? NULL : GetProcAddress(m, name);
}
static uint64_t countersign_minpinlen(const fido_cbor_info_t *ci) {
	countersign_u64_fn f = (countersign_u64_fn)(void (*)(void))countersign_lookup("fido_cbor_info_minpinlen");
	return f == NULL ? 0 : f(ci);
}
static int64_t countersign_rk_remaining(const fido_cbor_info_t *ci) {
	countersign_i64_fn f = (countersign_i64_fn)(void (*)(void))countersign_lookup("fido_cbor_info_rk_remaining");
	return f == NULL ? -1 : f(ci);
}
#else
#define countersign_minpinlen fido_cbor_info_minpinlen
#define countersign_rk_remaining fido_cbor_info_rk_remaining
#endif

static int countersign_info(const char *path, uint64_t *minpin, uint64_t *fw, int64_t *rk) {
	fido_dev_t *dev = fido_dev_new();
	if (dev == NULL)
		return FIDO_ERR_INTERNAL;
	int r = fido_dev_open(dev, path);
	if (r != FIDO_OK) {
		fido_dev_free(&dev);
		return r;
	}
	fido_cbor_info_t *ci = fido_cbor_info_new();
	r = fido_dev_get_cbor_info(dev, ci);
	if (r == FIDO_OK) {
		*minpin = countersign_minpinlen(ci);
		*fw = fido_cbor_info_fwversion(ci);
		*rk = countersign_rk_remaining(ci);
	}
	fido_cbor_info_free(&ci);
	fido_dev_close(dev);
	fido_dev_free(&dev);
	return r;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// extraInfo reads the minimum PIN length, firmware version and remaining
// discoverable-credential slots from the key's getInfo.
func extraInfo(path string) (minPIN int, firmware uint64, rkRemaining int64, err error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var minpin, fw C.uint64_t
	var rk C.int64_t
	if r := C.countersign_info(cpath, &minpin, &fw, &rk); r != C.FIDO_OK {
		return 0, 0, 0, fmt.Errorf("libfido2 error %d (%s)", int(r), C.GoString(C.fido_strerr(r)))
	}
	return int(minpin), uint64(fw), int64(rk), nil
}
