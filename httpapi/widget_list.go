package httpapi

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"widgetapi"
	"widgetapi/listmemo"
)

// listRequest is what a GET /widgets asks for: a page number, or a cursor
// to continue from, with the filters and sort either carries.
type listRequest struct {
	page   widgetapi.Page
	params widgetapi.WidgetListParams
	// after is the cursor continued from, as sent (raw), or nil for a
	// page number.
	after *cursor
	raw   string
}

// listParamNames are the query parameters a cursor carries.
var listParamNames = []string{"sort", "name_prefix", "owner", "deadline_after", "deadline_before", "passed"}

// parseListRequest reads the query of a list request, naming every bad
// parameter. With a cursor, page is refused, and the filters and sort, when
// given too, must be the cursor's (the links repeat them).
func (s *Server) parseListRequest(q url.Values) (listRequest, error) {
	page, params, err := widgetapi.ParseWidgetList(q.Get)
	raw := q.Get("cursor")
	if raw == "" {
		return listRequest{page: page, params: params}, err
	}
	problems := map[string]string{}
	var de *widgetapi.Error
	if errors.As(err, &de) {
		maps.Copy(problems, de.Fields)
	}
	if q.Get("page") != "" {
		problems["page"] = "page cannot be combined with cursor: a cursor continues where its list left off"
	}
	c, cerr := s.cursors.decode(raw)
	if cerr != nil {
		problems["cursor"] = cerr.Error()
	} else {
		// Parameters given with the cursor, as the links write them,
		// must be the cursor's own.
		mine, theirs := paramValues(c.params), paramValues(params)
		for _, name := range listParamNames {
			if _, failed := problems[name]; !q.Has(name) || failed {
				continue
			}
			if theirs.Get(name) != mine.Get(name) {
				problems[name] = name + " differs from the cursor's: a cursor continues with the filters and sort it was made with"
			}
		}
	}
	if err := widgetapi.Invalid(problems); err != nil {
		return listRequest{}, err
	}
	return listRequest{page: widgetapi.Page{Number: 1, Size: page.Size}, params: c.params, after: &c, raw: raw}, nil
}

// paramValues are p as query parameters, the default sort included.
func paramValues(p widgetapi.WidgetListParams) url.Values {
	var b strings.Builder
	p.Query(&b)
	v, _ := url.ParseQuery(strings.TrimPrefix(b.String(), "&"))
	if !v.Has("sort") {
		v.Set("sort", widgetapi.SortCreated.String())
	}
	return v
}

// listLink is the path of a list request: a page number or a cursor, the
// page size, and every filter and the sort of params.
func listLink(page int, cursor string, size int, params widgetapi.WidgetListParams) string {
	var b strings.Builder
	b.WriteString("/api/v1/widgets?")
	if cursor != "" {
		b.WriteString("cursor=")
		b.WriteString(cursor)
	} else {
		b.WriteString("page=")
		b.WriteString(strconv.Itoa(page))
	}
	b.WriteString("&per_page=")
	b.WriteString(strconv.Itoa(size))
	params.Query(&b)
	return b.String()
}

// handleWidgetList serves a page of the widget list, by page number or by
// cursor, filtered and sorted as asked. The items, the total and whether
// more follow come from one snapshot of the database.
func (s *Server) handleWidgetList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := s.parseListRequest(r.URL.Query())
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		now := s.Now()
		page, params := req.page, req.params
		q := widgetapi.WidgetQuery{Filter: params.Filter(now, s.Location), Sort: params.Sort, Limit: page.Size}
		if req.after != nil {
			q.After = &req.after.key
			if params.Passed != widgetapi.PassedAny {
				q.Filter.PassedAt = time.Unix(req.after.passedAt, 0).UTC()
			}
		} else {
			q.Offset = page.Offset()
		}
		// The token's subject and the widgets' stamp come in one
		// statement; a page already read at that stamp is the answer, and
		// any other is read (with its stamp, in the page's snapshot) and
		// kept for the next request.
		claims := claimsFrom(r.Context())
		subject, stamp, err := s.Widgets.WidgetStampForToken(r.Context(), claims.Subject, claims.ID)
		if !s.admitSubject(w, r, claims, subject, err) {
			return
		}
		list, err := s.Lists.Page(r.Context(), listmemo.KeyOf(q), stamp, func() (widgetapi.WidgetList, error) {
			return s.Widgets.ListWidgets(r.Context(), q)
		})
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		last := page.TotalPages(list.Total)
		links := make([][2]string, 0, 6)
		var next string
		if list.More && len(list.Items) > 0 {
			c := cursor{params: params, key: widgetapi.KeyOf(list.Items[len(list.Items)-1])}
			if params.Passed != widgetapi.PassedAny {
				c.passedAt = q.Filter.PassedAt.Unix()
			}
			next = s.cursors.encode(c)
		}
		hasPrev, hasNext := page.Number > 1, page.Number < last
		if req.after != nil {
			// A cursor's page has no number: it follows the widgets
			// already shown, and the next one follows it.
			hasPrev, hasNext = true, list.More
			links = append(links, [2]string{"self", listLink(0, req.raw, page.Size, params)},
				[2]string{"first", listLink(1, "", page.Size, params)})
		} else {
			links = append(links, [2]string{"self", listLink(page.Number, "", page.Size, params)},
				[2]string{"first", listLink(1, "", page.Size, params)})
			if hasPrev {
				// A page past the end points back at the last real page.
				links = append(links, [2]string{"prev", listLink(min(page.Number-1, last), "", page.Size, params)})
			}
			if hasNext {
				links = append(links, [2]string{"next", listLink(page.Number+1, "", page.Size, params)})
			}
		}
		links = append(links, [2]string{"last", listLink(last, "", page.Size, params)})
		if next != "" {
			links = append(links, [2]string{"next_cursor", listLink(0, next, page.Size, params)})
		}

		inm, err := parseTagSet(r.Header, "If-None-Match")
		if err != nil {
			s.writeError(w, r, s.Realm, err)
			return
		}
		tag := listTag(links, list.Total, list.Items)
		w.Header().Set("ETag", tag)
		if inm.NotModified(tag) {
			// The ETag and no body (RFC 9110 §15.4.5).
			w.WriteHeader(http.StatusNotModified)
			return
		}

		bp := bodyBuffers.Get().(*[]byte)
		defer bodyBuffers.Put(bp)
		b := append((*bp)[:0], `{"links":{`...)
		var header strings.Builder
		for i, l := range links {
			if i > 0 {
				b = append(b, ',')
				header.WriteString(", ")
			}
			b = appendJSONString(b, l[0])
			b = append(b, ':')
			b = appendJSONString(b, l[1])
			header.WriteString("<" + l[1] + `>; rel="` + l[0] + `"`)
		}
		b = append(b, `},"has_prev":`...)
		b = strconv.AppendBool(b, hasPrev)
		b = append(b, `,"has_next":`...)
		b = strconv.AppendBool(b, hasNext)
		if req.after == nil {
			b = append(b, `,"page":`...)
			b = strconv.AppendInt(b, int64(page.Number), 10)
		}
		b = append(b, `,"total_pages":`...)
		b = strconv.AppendInt(b, int64(last), 10)
		b = append(b, `,"items_per_page":`...)
		b = strconv.AppendInt(b, int64(page.Size), 10)
		b = append(b, `,"total_items":`...)
		b = strconv.AppendInt(b, int64(list.Total), 10)
		if next != "" {
			b = append(b, `,"next_cursor":`...)
			b = appendJSONString(b, next)
		}
		b = append(b, `,"items":[`...)
		for i, wd := range list.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendWidget(b, wd, now, s.Location)
		}
		b = append(b, "]}"...)
		*bp = b
		w.Header().Set("Link", header.String())
		w.Header().Set("Total-Count", strconv.Itoa(list.Total))
		writeJSONBytes(w, http.StatusOK, b)
	})
}
