//go:build cgo

package fido

/*
#cgo LDFLAGS: -lfido2
#include <fido.h>
#include <stdlib.h>

// The getInfo fields go-libfido2 does not expose. rk_remaining is -1 when
// the key does not report it.
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
		*minpin = fido_cbor_info_minpinlen(ci);
		*fw = fido_cbor_info_fwversion(ci);
		*rk = fido_cbor_info_rk_remaining(ci);
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
