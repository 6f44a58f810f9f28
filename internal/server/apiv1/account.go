package apiv1

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// Activity pages.
const (
	defaultPage = 50
	maxPage     = 200
)

func (h *handler) openAPI(w http.ResponseWriter, r *http.Request, _ *caller) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(api.OpenAPI())
	return err
}

func (h *handler) account(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	methods, err := h.store.Methods(ctx, c.user.ID)
	if err != nil {
		return err
	}
	codes, err := h.store.BackupCodes(ctx, c.user.ID)
	if err != nil {
		return err
	}
	keys, err := h.store.SecurityKeys(ctx, c.user.ID)
	if err != nil {
		return err
	}
	u := c.user
	a := api.Account{
		ID: u.ID, Email: u.Email, Phone: u.Phone, Name: u.Name, TwoStep: u.TwoStep,
		Methods: []api.Method{}, SecurityKeys: len(keys), CreatedAt: u.CreatedAt.UTC(),
	}
	for _, m := range methods {
		if !m.Confirmed {
			continue
		}
		am := api.Method{ID: m.ID, Kind: string(m.Kind), Label: m.Label, CreatedAt: m.CreatedAt.UTC(), LastUsedAt: utc(m.LastUsedAt)}
		if m.Kind == store.MethodSMS || m.Kind == store.MethodVoice {
			am.PhoneMasked = maskPhone(m.Phone)
		}
		a.Methods = append(a.Methods, am)
	}
	for _, bc := range codes {
		if bc.UsedAt.IsZero() {
			a.BackupCodesLeft++
		}
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (h *handler) activity(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	var before int64
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return errBadRequest("before must be the next cursor of a previous page.")
		}
		before = n
	}
	limit := defaultPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			return errBadRequest("limit must be a whole number from 1 to %d.", maxPage)
		}
		limit = n
	}
	category := q.Get("category")
	switch category {
	case "", api.ActivitySignIns, api.ActivityApprovals, api.ActivityChanges:
	default:
		return errBadRequest("category must be %s, %s or %s.", api.ActivitySignIns, api.ActivityApprovals, api.ActivityChanges)
	}
	events, err := h.store.ActivityCategoryPage(r.Context(), c.user.ID, category, before, limit+1)
	if err != nil {
		return err
	}
	page := api.ActivityPage{Events: []api.Event{}}
	if len(events) > limit {
		events = events[:limit]
		page.Next = strconv.FormatInt(events[limit-1].ID, 10)
	}
	for _, e := range events {
		browser, os := describeUA(e.UserAgent)
		page.Events = append(page.Events, api.Event{
			ID: e.ID, At: e.At.UTC(), Kind: e.Kind, Category: store.ActivityCategory(e.Kind), OK: e.OK,
			IP: e.IP, Browser: browser, OS: os, Member: e.Member, Detail: e.Detail,
		})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// maskPhone hides all but the last two digits of a phone number.
func maskPhone(p string) string {
	digits := 0
	for _, r := range p {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	seen := 0
	for _, r := range p {
		if r >= '0' && r <= '9' {
			seen++
			if seen <= digits-2 {
				r = '•'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// utc is t in UTC, the zero time left zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
