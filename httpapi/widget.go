package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"widgetapi"
)

func widgetPath(name string) string { return "/api/v1/widgets/" + name }

// readWidget decodes and validates a widget from the body; the name comes
// from the URL when urlName is not empty.
func (s *Server) readWidget(w http.ResponseWriter, r *http.Request, urlName string) (*widgetapi.Widget, error) {
	fields := []string{"name", "info_url", "deadline"}
	if urlName != "" {
		fields = fields[1:]
	}
	f, bad, err := decodeFields(w, r, fields...)
	if err != nil {
		return nil, err
	}
	if urlName != "" {
		f["name"] = urlName
	}
	now := s.Now()
	name, deadline, err := widgetapi.ValidateWidget(f["name"], f["info_url"], f["deadline"], now, s.Location)
	if len(bad) > 0 {
		return nil, withBadFields(bad, err)
	}
	if err != nil {
		return nil, err
	}
	u := widgetapi.UserFromContext(r.Context())
	return &widgetapi.Widget{
		Name:      name,
		InfoURL:   f["info_url"],
		CreatedAt: now.UTC(),
		Deadline:  deadline,
		Owner:     widgetapi.WidgetOwner{ID: u.ID, Email: u.Email, PublicID: u.PublicID},
	}, nil
}

// widgetDetail is what the audit log keeps of a widget as written.
func widgetDetail(wd *widgetapi.Widget) map[string]any {
	return map[string]any{"info_url": wd.InfoURL, "deadline": iso8601(wd.Deadline)}
}

func (s *Server) createWidget(w http.ResponseWriter, r *http.Request, wd *widgetapi.Widget) {
	ev := s.Audit.Event(r.Context(), widgetapi.ActionWidgetCreated, wd.Name, widgetDetail(wd))
	if !s.committed(w, r, ev, s.Widgets.CreateWidget(r.Context(), wd, ev)) {
		return
	}
	w.Header().Set("Location", s.baseURL(r)+widgetPath(wd.Name))
	w.Header().Set("ETag", wd.ETag())
	writeJSON(w, http.StatusCreated, statusBody{Status: "success", Message: fmt.Sprintf("New widget added: %s.", wd.Name)})
}

func (s *Server) handleWidgetCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wd, err := s.readWidget(w, r, "")
		if err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		s.createWidget(w, r, wd)
	})
}

// handleWidgetGet serves a widget to any user, behind requireToken: the
// token's user, its revocation and the widget come from one statement (with
// PostgreSQL, a second round trip was the largest cost of the most frequent
// request), then the user is admitted, then the widget served or not found.
func (s *Server) handleWidgetGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := claimsFrom(r.Context())
		name := widgetapi.NormalizeWidgetName(r.PathValue("name"))
		lookup := name
		if widgetapi.ValidateWidgetName(name) != "" {
			// No widget has such a name, and the name (a NUL byte, say)
			// is not for the database to see; the token is still read.
			lookup = ""
		}
		subject, wd, err := s.Widgets.FindWidgetForToken(r.Context(), claims.Subject, claims.ID, lookup)
		if !s.admitSubject(w, r, claims, subject, err) {
			return
		}
		if wd == nil {
			s.writeError(w, r, s.Realm, widgetapi.WidgetNotFound(name))
			return
		}
		inm, err := parseTagSet(r.Header, "If-None-Match")
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		rd := s.renders.render(wd, s.Location)
		setValidators(w, rd.validators)
		if inm.NotModified(rd.validators[0]) {
			// The validators and no body (RFC 9110 §15.4.5).
			w.WriteHeader(http.StatusNotModified)
			return
		}
		bp := bodyBuffers.Get().(*[]byte)
		defer bodyBuffers.Put(bp)
		*bp = rd.appendTo((*bp)[:0], s.Now())
		writeJSONBytes(w, http.StatusOK, *bp)
	})
}

func (s *Server) handleWidgetPut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pre, err := preconditions(r)
		var wd *widgetapi.Widget
		if err == nil {
			wd, err = s.readWidget(w, r, r.PathValue("name"))
		}
		if err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		// PUT to a missing widget creates it exactly as POST would.
		// The store names the event's action by what the PUT did.
		wd.Version, wd.UpdatedAt = widgetapi.NewVersion(), wd.CreatedAt
		ev := s.Audit.Event(r.Context(), widgetapi.ActionWidgetUpdated, wd.Name, widgetDetail(wd))
		created, err := s.Widgets.PutWidget(r.Context(), wd, pre, ev)
		if !s.committed(w, r, ev, err) {
			return
		}
		w.Header().Set("ETag", wd.ETag())
		if created {
			w.Header().Set("Location", s.baseURL(r)+widgetPath(wd.Name))
			writeJSON(w, http.StatusCreated, statusBody{Status: "success", Message: fmt.Sprintf("New widget added: %s.", wd.Name)})
			return
		}
		writeJSON(w, http.StatusOK, statusBody{Status: "success", Message: fmt.Sprintf("'%s' was successfully updated", wd.Name)})
	})
}

// readPatch decodes and validates a partial update of a widget: info_url,
// deadline or both, under the rules of PUT; name is refused, since a
// widget is not renamed.
func (s *Server) readPatch(w http.ResponseWriter, r *http.Request) (widgetapi.WidgetPatch, error) {
	f, bad, err := decodePatch(w, r, "name", "info_url", "deadline")
	if err != nil {
		return widgetapi.WidgetPatch{}, err
	}
	problems := map[string]string{}
	var p widgetapi.WidgetPatch
	if _, ok := f["name"]; ok {
		problems["name"] = "a widget is not renamed: its name is the one in the URL"
	}
	if v, ok := f["info_url"]; ok && bad["info_url"] == "" {
		if why := widgetapi.ValidateInfoURL(v); why != "" {
			problems["info_url"] = why
		}
		p.InfoURL = &v
	}
	if v, ok := f["deadline"]; ok && bad["deadline"] == "" {
		d, why := widgetapi.ParseDeadline(v, s.Now(), s.Location)
		if why != "" {
			problems["deadline"] = why
		}
		p.Deadline = &d
	}
	for k, v := range bad {
		problems[k] = v
	}
	if len(problems) == 0 && p.InfoURL == nil && p.Deadline == nil {
		problems["body"] = "give at least one of info_url, deadline"
	}
	return p, widgetapi.Invalid(problems)
}

func (s *Server) handleWidgetPatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pre, err := preconditions(r)
		if err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		patch, err := s.readPatch(w, r)
		if err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		name, err := existingName(r, pre)
		if err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		detail := map[string]any{}
		if patch.InfoURL != nil {
			detail["info_url"] = *patch.InfoURL
		}
		if patch.Deadline != nil {
			detail["deadline"] = iso8601(*patch.Deadline)
		}
		ev := s.Audit.Event(r.Context(), widgetapi.ActionWidgetUpdated, name, detail)
		wd, err := s.Widgets.PatchWidget(r.Context(), name, patch, widgetapi.NewVersion(), s.Now().UTC(), pre, ev)
		if !s.committed(w, r, ev, err) {
			return
		}
		w.Header().Set("ETag", wd.ETag())
		writeJSON(w, http.StatusOK, statusBody{Status: "success", Message: fmt.Sprintf("'%s' was successfully updated", wd.Name)})
	})
}

func (s *Server) handleWidgetDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pre, err := preconditions(r)
		name := ""
		if err == nil {
			name, err = existingName(r, pre)
		}
		if err != nil {
			s.writeError(w, r, s.AdminRealm, err)
			return
		}
		ev := s.Audit.Event(r.Context(), widgetapi.ActionWidgetDeleted, name, nil)
		if !s.committed(w, r, ev, s.Widgets.DeleteWidget(r.Context(), name, pre, ev)) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// existingName is the name in the path of a request that changes an
// existing widget (PATCH never creates). A name no widget can have is not
// a 400: no widget has it, so pre decides as of a missing widget (404, or
// 412 under If-Match, RFC 9110 §13.1.1).
func existingName(r *http.Request, pre widgetapi.Precondition) (string, error) {
	name := widgetapi.NormalizeWidgetName(r.PathValue("name"))
	if widgetapi.ValidateWidgetName(name) != "" {
		return "", pre.CheckExisting(name, nil)
	}
	return name, nil
}

// committed reports whether a widget change committed, answering its
// error when it did not; the change's audit event ev is logged only once
// its transaction has committed.
func (s *Server) committed(w http.ResponseWriter, r *http.Request, ev *widgetapi.Event, err error) bool {
	if err != nil {
		s.writeError(w, r, s.AdminRealm, err)
		return false
	}
	s.Audit.Committed(r.Context(), ev)
	return true
}

// baseURL is the scheme and host the client used. X-Forwarded-Proto and
// X-Forwarded-Host are believed only from a configured trusted proxy, since
// anyone else could point Location at a host of their choosing.
func (s *Server) baseURL(r *http.Request) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.fromTrustedProxy(r) {
		if p := strings.ToLower(strings.TrimSpace(firstCSV(r.Header.Get("X-Forwarded-Proto")))); p == "http" || p == "https" {
			scheme = p
		}
		if h := strings.TrimSpace(firstCSV(r.Header.Get("X-Forwarded-Host"))); validHost(h) {
			host = h
		}
	}
	return scheme + "://" + host
}

func (s *Server) fromTrustedProxy(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && s.trusted(ap.Addr().Unmap())
}

func firstCSV(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return first
}

func validHost(h string) bool {
	if h == "" || len(h) > 255 || strings.ContainsAny(h, "/?#@ \\") {
		return false
	}
	host := h
	if hh, _, err := net.SplitHostPort(h); err == nil {
		host = hh
	}
	return host != ""
}

// admitSubject answers for a read whose statement also read the token's
// subject (err being that statement's): it writes the refusal and reports
// false unless the read worked and the subject may go on.
func (s *Server) admitSubject(w http.ResponseWriter, r *http.Request, claims *widgetapi.TokenClaims, subject widgetapi.TokenSubject, err error) bool {
	var u *widgetapi.User
	if err == nil {
		u, err = s.Auth.Admit(claims, subject)
	}
	if err != nil {
		s.writeError(w, r, s.Realm, err)
		return false
	}
	return s.verified(w, r, s.Realm, u)
}
