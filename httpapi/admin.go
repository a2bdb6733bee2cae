package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"widgetapi"
)

// The routes of contract Part 2, "Accounts an administrator manages" and
// "Audit log". All are behind requireAdmin.

type userAdminBody struct {
	Email               string `json:"email"`
	PublicID            string `json:"public_id"`
	Admin               bool   `json:"admin"`
	Disabled            bool   `json:"disabled"`
	EmailVerified       bool   `json:"email_verified"`
	MFA                 bool   `json:"mfa"`
	RegisteredOn        string `json:"registered_on"`
	RegisteredOnISO8601 string `json:"registered_on_iso8601"`
	Link                string `json:"link"`
}

func (s *Server) userAdminBody(u *widgetapi.User) userAdminBody {
	return userAdminBody{Email: u.Email, PublicID: u.PublicID, Admin: u.Admin, Disabled: u.Disabled, EmailVerified: u.EmailVerified, MFA: u.MFA,
		RegisteredOn: localized(u.RegisteredOn, s.Location), RegisteredOnISO8601: iso8601(u.RegisteredOn),
		Link: "/api/v1/users/" + u.PublicID}
}

// linksBody is the links of a page of the admin lists.
type linksBody struct {
	Self  string `json:"self"`
	First string `json:"first"`
	Prev  string `json:"prev,omitempty"`
	Next  string `json:"next,omitempty"`
	Last  string `json:"last"`
}

// pageBody is the pagination object of the admin lists (the widget list
// writes its own, with cursors), items aside.
type pageBody[T any] struct {
	Links        linksBody `json:"links"`
	HasPrev      bool      `json:"has_prev"`
	HasNext      bool      `json:"has_next"`
	Page         int       `json:"page"`
	TotalPages   int       `json:"total_pages"`
	ItemsPerPage int       `json:"items_per_page"`
	TotalItems   int       `json:"total_items"`
	Items        []T       `json:"items"`
}

// writePage answers a page of a list at path, whose links carry the query
// of filters, with the Link and Total-Count headers.
func writePage[T any](w http.ResponseWriter, path string, filters url.Values, page widgetapi.Page, total int, items []T) {
	link := func(n int) string {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(page.Size))
		return path + "?" + q.Encode()
	}
	last := page.TotalPages(total)
	body := pageBody[T]{
		Links:   linksBody{Self: link(page.Number), First: link(1), Last: link(last)},
		HasPrev: page.Number > 1, HasNext: page.Number < last,
		Page: page.Number, TotalPages: last, ItemsPerPage: page.Size, TotalItems: total, Items: items,
	}
	header := []string{`<` + body.Links.Self + `>; rel="self"`, `<` + body.Links.First + `>; rel="first"`}
	if body.HasPrev {
		// A page past the end points back at the last real page.
		body.Links.Prev = link(min(page.Number-1, last))
		header = append(header, `<`+body.Links.Prev+`>; rel="prev"`)
	}
	if body.HasNext {
		body.Links.Next = link(page.Number + 1)
		header = append(header, `<`+body.Links.Next+`>; rel="next"`)
	}
	header = append(header, `<`+body.Links.Last+`>; rel="last"`)
	w.Header().Set("Link", strings.Join(header, ", "))
	w.Header().Set("Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, body)
}

// pageQuery reads the page and per_page of an admin list's query; what is
// wrong with them starts the problems its filters add theirs to.
func pageQuery(q url.Values) (widgetapi.Page, map[string]string) {
	problems := map[string]string{}
	page, err := widgetapi.ParsePage(q.Get("page"), q.Get("per_page"))
	var pe *widgetapi.Error
	if errors.As(err, &pe) {
		for k, v := range pe.Fields {
			problems[k] = v
		}
	}
	return page, problems
}

// listPage answers a page of an admin list: a 400 naming every field in
// problems, else the page that list reads, each item as body makes it
// (see writePage).
func listPage[T, B any](s *Server, w http.ResponseWriter, r *http.Request, path string, filters url.Values, page widgetapi.Page,
	problems map[string]string, list func(context.Context) ([]T, int, error), body func(T) B) {
	if err := widgetapi.Invalid(problems); err != nil {
		s.writeError(w, r, s.AdminRealm, err)
		return
	}
	found, total, err := list(r.Context())
	if err != nil {
		s.writeError(w, r, s.AdminRealm, err)
		return
	}
	items := make([]B, 0, len(found))
	for _, v := range found {
		items = append(items, body(v))
	}
	writePage(w, path, filters, page, total, items)
}

// parseBoolParam reads an optional true/false query parameter.
func parseBoolParam(q url.Values, name string, problems map[string]string) *bool {
	switch v := q.Get(name); v {
	case "":
		return nil
	case "true", "false":
		b := v == "true"
		return &b
	}
	problems[name] = name + " must be true or false"
	return nil
}

func (s *Server) handleUserList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page, problems := pageQuery(q)
		f := widgetapi.UserFilter{Email: q.Get("email"), Admin: parseBoolParam(q, "admin", problems),
			Disabled: parseBoolParam(q, "disabled", problems)}
		if len(f.Email) > widgetapi.MaxEmailLength || !printable(f.Email) {
			problems["email"] = "email must be printable text of at most 255 characters"
		}
		filters := url.Values{}
		for _, k := range []string{"email", "admin", "disabled"} {
			if v := q.Get(k); v != "" {
				filters.Set(k, v)
			}
		}
		listPage(s, w, r, "/api/v1/users", filters, page, problems, func(ctx context.Context) ([]*widgetapi.User, int, error) {
			return s.Accounts.List(ctx, f, page)
		}, s.userAdminBody)
	})
}

func (s *Server) handleUserGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.Accounts.Get(r.Context(), r.PathValue("public_id"))
		s.writeUser(w, r, u, err)
	})
}

func (s *Server) handleUserPatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, bad, err := decodeBools(w, r, "admin", "disabled", "mfa")
		if err == nil && len(bad) > 0 {
			err = widgetapi.Invalid(bad)
		}
		if err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		u, err := s.Accounts.Update(r.Context(), r.PathValue("public_id"), widgetapi.UserUpdate{Admin: f["admin"], Disabled: f["disabled"], MFA: f["mfa"]})
		s.writeUser(w, r, u, err)
	})
}

// writeUser answers u as the admin API shows a user, or err.
func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, u *widgetapi.User, err error) {
	if err != nil {
		s.writeError(w, r, s.AdminRealm, err)
		return
	}
	writeJSON(w, http.StatusOK, s.userAdminBody(u))
}

func (s *Server) handleUserDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Accounts.Delete(r.Context(), r.PathValue("public_id"), r.URL.Query().Get("transfer_to")); err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type eventActorBody struct {
	Email    string `json:"email"`
	PublicID string `json:"public_id"`
}

type eventBody struct {
	ID        int64           `json:"id"`
	AtISO8601 string          `json:"at_iso8601"`
	Action    string          `json:"action"`
	Actor     *eventActorBody `json:"actor"`
	Target    *string         `json:"target"`
	Address   string          `json:"address"`
	RequestID string          `json:"request_id"`
	Source    string          `json:"source"`
	Detail    map[string]any  `json:"detail"`
}

// maxFilterLength bounds the audit log's text filters.
const maxFilterLength = 255

func (s *Server) handleAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page, problems := pageQuery(q)
		f := widgetapi.EventFilter{Action: q.Get("action"), Actor: q.Get("actor"), Target: q.Get("target")}
		filters := url.Values{}
		for k, v := range map[string]string{"action": f.Action, "actor": f.Actor, "target": f.Target} {
			if !printable(v) || len(v) > maxFilterLength {
				problems[k] = k + " must be printable text of at most 255 characters"
			} else if k == "action" && v != "" && !slices.Contains(widgetapi.AuditActions(), v) {
				// A misspelt action would otherwise match nothing, silently.
				problems[k] = "action must be one of " + strings.Join(widgetapi.AuditActions(), ", ")
			} else if v != "" {
				filters.Set(k, v)
			}
		}
		listPage(s, w, r, "/api/v1/audit", filters, page, problems, func(ctx context.Context) ([]*widgetapi.Event, int, error) {
			return s.Audit.List(ctx, f, page)
		}, newEventBody)
	})
}

func newEventBody(ev *widgetapi.Event) eventBody {
	b := eventBody{ID: ev.ID, AtISO8601: iso8601(ev.At), Action: ev.Action, Address: ev.Address,
		RequestID: ev.RequestID, Source: ev.Source, Detail: ev.Detail}
	if ev.Actor != nil {
		b.Actor = &eventActorBody{Email: ev.Actor.Email, PublicID: ev.Actor.PublicID}
	}
	if ev.Target != "" {
		b.Target = &ev.Target
	}
	if b.Detail == nil {
		b.Detail = map[string]any{}
	}
	return b
}

// printable reports whether s is valid UTF-8 without control characters:
// filters are compared with stored text on every engine, and PostgreSQL
// refuses some bytes that SQLite stores.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}
