package httpapi

import (
	"embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3 document, maintained by hand next to the
// handlers it describes; tests check it against the routes and against every
// response of the HTTP test suite. It is served as is.
//
//go:embed openapi.json
var openAPI []byte

// uiFiles is Swagger UI (from swagger-ui-dist, see ui/README.md), its
// licenses, and the page that starts it.
//
//go:embed ui/index.html ui/init.js ui/swagger-ui-bundle.js ui/swagger-ui.css ui/favicon-32x32.png
//go:embed ui/LICENSE ui/NOTICE ui/swagger-ui-bundle.js.LICENSE.txt
var uiFiles embed.FS

// uiTypes lists the files served under /api/v1/ui/ with their content
// types, fixed here rather than looked up in the system's MIME table.
var uiTypes = map[string]string{
	"init.js":                          "text/javascript; charset=utf-8",
	"swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
	"swagger-ui.css":                   "text/css; charset=utf-8",
	"favicon-32x32.png":                "image/png",
	"LICENSE":                          "text/plain; charset=utf-8",
	"NOTICE":                           "text/plain; charset=utf-8",
	"swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
}

// uiCSP allows only this origin's scripts, so the page has no inline
// script; Swagger UI needs inline styles and data: images.
const uiCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"

// OpenAPI returns the OpenAPI document the server serves.
func OpenAPI() []byte { return openAPI }

// handleOpenAPI serves the OpenAPI document. It holds no user data, so
// caches may keep it for a while (overriding the API's no-store).
func (s *Server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(openAPI)
	})
}

// handleUI serves the Swagger UI page at /api/v1/ui and, with {file} set,
// the files it loads.
func (s *Server) handleUI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ct, maxAge := "index.html", "text/html; charset=utf-8", "300"
		if file := r.PathValue("file"); file != "" {
			var ok bool
			if ct, ok = uiTypes[file]; !ok {
				s.writeError(w, r, s.Realm, errNoRoute)
				return
			}
			name, maxAge = file, "3600"
		}
		b, err := uiFiles.ReadFile("ui/" + name)
		if err != nil {
			// Every name above is embedded; the test of the UI fetches each.
			s.writeError(w, r, s.Realm, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("Cache-Control", "public, max-age="+maxAge)
		_, _ = w.Write(b)
	})
}
