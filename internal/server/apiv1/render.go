package apiv1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
)

// Codes used here, from the api package.
const (
	codeInvalidRequest    = api.CodeInvalidRequest
	codeMethodNotAllowed  = api.CodeMethodNotAllowed
	codeUnauthorized      = api.CodeUnauthorized
	codeInvalidToken      = api.CodeInvalidToken
	codeInsufficientScope = api.CodeInsufficientScope
)

// apiError is an error answer: status, code and a message for people.
// cause, when set, is logged and never sent.
type apiError struct {
	status  int
	code    string
	msg     string
	wwwAuth string // WWW-Authenticate header, for 401 and 403
	// outcome and decidedBy say what came first and on which device, for
	// already_decided.
	outcome, decidedBy string
	cause              error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *apiError) Unwrap() error { return e.cause }

// because is a copy of e caused by err.
func (e *apiError) because(err error) *apiError {
	c := *e
	c.cause = err
	return &c
}

func errBadRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidRequest, msg: fmt.Sprintf(format, args...)}
}

func errNotFound(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, code: api.CodeNotFound, msg: msg}
}

func errConflict(code, msg string) *apiError {
	return &apiError{status: http.StatusConflict, code: code, msg: msg}
}

// keyError turns a seckey failure into an answer; other errors pass.
func keyError(err error) error {
	e := &apiError{status: http.StatusBadRequest, cause: err}
	switch {
	case errors.Is(err, seckey.ErrChallenge):
		e.code, e.msg = api.CodeChallenge, seckey.ErrChallenge.Error()
	case errors.Is(err, seckey.ErrCloned):
		e.code, e.msg = api.CodeNotVerified, "The security key's signature counter went backwards, so it may have been copied. It was not accepted."
	case errors.Is(err, seckey.ErrVerify):
		e.code, e.msg = api.CodeNotVerified, "The security key's answer could not be verified."
	case errors.Is(err, seckey.ErrName):
		e.code, e.msg = codeInvalidRequest, fmt.Sprintf("The name must be 1 to %d characters, %s.", seckey.MaxNameLen, names.Rule)
	case errors.Is(err, seckey.ErrRegistered):
		e.status, e.code, e.msg = http.StatusConflict, api.CodeAlreadyRegistered, "This security key is already registered."
	case errors.Is(err, seckey.ErrNoKeys):
		e.status, e.code, e.msg = http.StatusConflict, api.CodeNoSecurityKeys, "No security key is registered with the account."
	default:
		return err
	}
	return e
}

// approvalError turns an approval failure into an answer; other errors
// pass. approval.ErrNotFound passes too: what is missing is the caller's to
// say.
func approvalError(err error) error {
	e := &apiError{cause: err}
	var decided *approval.AlreadyDecidedError
	switch {
	case errors.As(err, &decided):
		e.status, e.code, e.outcome, e.decidedBy = http.StatusConflict, api.CodeAlreadyDecided, decided.Status, decided.DecidedBy
		e.msg = fmt.Sprintf("This sign-in request was already %s.", decided.Status)
		if decided.DecidedBy != "" {
			e.msg = fmt.Sprintf("This sign-in request was already %s by %s.", decided.Status, decided.DecidedBy)
		}
	case errors.Is(err, approval.ErrAlreadyDecided):
		e.status, e.code, e.msg = http.StatusConflict, api.CodeAlreadyDecided, "This sign-in request was already decided."
	case errors.Is(err, approval.ErrInvalidCode):
		e.status, e.code = http.StatusBadRequest, api.CodeInvalidCode
		e.msg = "This pairing code is wrong, used or expired: make a new one on the Login & security page."
	case errors.Is(err, approval.ErrInvalid):
		// The wrapping says what is wrong, in words for people.
		e.status, e.code = http.StatusBadRequest, codeInvalidRequest
		msg := err.Error()
		if _, what, ok := strings.Cut(msg, approval.ErrInvalid.Error()+": "); ok {
			msg = what
		}
		e.msg = sentence(msg)
	case errors.Is(err, approval.ErrRevoked):
		return errDeviceRevoked.because(err)
	case errors.Is(err, approval.ErrInvalidToken):
		return errInvalidDeviceToken.because(err)
	case errors.Is(err, approval.ErrSignature):
		e.status, e.code, e.wwwAuth = http.StatusUnauthorized, api.CodeInvalidSignature, `Bearer realm="countersign"`
		e.msg = "The signature does not verify, or the challenge is unknown, used or expired."
	case errors.Is(err, approval.ErrExpired):
		e.status, e.code, e.msg = http.StatusGone, api.CodeExpired, "This sign-in request has expired."
	case errors.Is(err, approval.ErrForeign):
		e.status, e.code, e.msg = http.StatusForbidden, api.CodeForeign, "This sign-in request belongs to another account."
	case errors.Is(err, approval.ErrKeyRequired):
		e.status, e.code, e.msg = http.StatusBadRequest, api.CodeKeyRequired, "Approving this sign-in needs a security-key touch: send the key's assertion."
	case errors.Is(err, approval.ErrKeyFailed):
		e.status, e.code, e.msg = http.StatusBadRequest, api.CodeKeyFailed, "The security key's answer could not be verified."
	case errors.Is(err, approval.ErrTooManyPending):
		e.status, e.code, e.msg = http.StatusTooManyRequests, api.CodeTooMany, "Too many sign-in requests are waiting."
	default:
		return err
	}
	return e
}

// sentence ends an error message with a full stop.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// What a database out of service (store.Outage) is answered with.
const (
	msgUnavailable = "The server cannot save or look anything up right now; try again in a few minutes."
	retryAfter     = "30" // seconds
)

// fail renders err: an *apiError as it says, a database out of service as
// a 503, anything else as a 500 whose detail goes to the log only.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
			h.log.Debug("api: client went away", "method", r.Method, "path", r.URL.Path)
			return
		case errors.Is(err, store.ErrNotFound):
			e = errNotFound("Not found.")
		case store.Outage(err) != nil:
			// A full disk or a database out of reach passes: say so, and when
			// to come back; the cause goes to the log.
			h.log.Error("api: the database is out of service", "method", r.Method, "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", retryAfter)
			e = &apiError{status: http.StatusServiceUnavailable, code: api.CodeUnavailable, msg: msgUnavailable}
		default:
			h.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			e = &apiError{status: http.StatusInternalServerError, code: api.CodeInternal, msg: "Something went wrong on the server. Please try again later."}
		}
	} else if e.cause != nil {
		h.log.Info("api: request refused", "method", r.Method, "path", r.URL.Path, "status", e.status, "code", e.code, "err", e.cause)
	}
	if e.wwwAuth != "" {
		w.Header().Set("WWW-Authenticate", e.wwwAuth)
	}
	if e.code == api.CodeAlreadyDecided {
		writeJSON(w, e.status, alreadyDecided{Error: e.msg, Code: e.code, Status: e.outcome, DecidedBy: e.decidedBy})
		return
	}
	writeJSON(w, e.status, api.Error{Error: e.msg, Code: e.code})
}

// alreadyDecided is the error answer of a decision that came second: an
// api.Error with what came first ("approved", "denied", "reported",
// "cancelled") and the name of the device that decided ("" when none did).
type alreadyDecided struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	Status    string `json:"status"`
	DecidedBy string `json:"decided_by"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // the API's own types always marshal
		status, b = http.StatusInternalServerError, []byte(`{"error":"Something went wrong on the server.","code":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads the JSON body into v strictly: application/json, at most
// maxBody bytes, one value, no unknown fields, right types. With optional
// an absent or empty body leaves v alone.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	return h.decodeUpTo(w, r, v, optional, h.maxBody)
}

// decodeUpTo is decode with a body limit of its own.
func (h *handler) decodeUpTo(w http.ResponseWriter, r *http.Request, v any, optional bool, limit int64) error {
	ct := r.Header.Get("Content-Type")
	if optional && r.ContentLength == 0 {
		return nil
	}
	if ct != "" && !isJSON(ct) {
		return &apiError{status: http.StatusUnsupportedMediaType, code: api.CodeUnsupportedType,
			msg: "The request body must be JSON (Content-Type: application/json)."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: api.CodeTooLarge,
				msg: fmt.Sprintf("The request body is too large; the limit is %s.", sizeWords(limit))}
		}
		return errBadRequest("The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return errBadRequest("The request body is empty; a JSON object is expected.")
	}
	if ct == "" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: api.CodeUnsupportedType,
			msg: "The request body must be JSON (Content-Type: application/json)."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return errBadRequest("The request body must hold a single JSON object.")
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// jsonError says what is wrong with a body encoding/json refused.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errBadRequest("The request body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("The request body is not valid JSON (it ends too soon).")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errBadRequest("The request body must be a JSON object, not %s.", jsonKind(typ.Value))
		}
		return errBadRequest("The field %q must be %s, not %s.", typ.Field, goKind(typ.Type), jsonKind(typ.Value))
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errBadRequest("The field %s is not known here.", field)
	}
	return errBadRequest("The request body is not valid JSON.")
}

func jsonKind(v string) string {
	if strings.HasPrefix(v, "number") {
		return "a number"
	}
	switch v {
	case "object", "array":
		return "an " + v
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return v
}

func goKind(t reflect.Type) string {
	if t == nil {
		return "something else"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "something else"
}

func sizeWords(n int64) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d bytes", n)
}
