package httpapi

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

// openAPI is the API's OpenAPI 3 document, maintained by hand next to the
// handlers it describes; tests check it against the routes and responses.
//
//go:embed openapi.json
var openAPI []byte

// uiFiles is Swagger UI (from swagger-ui-dist, see ui/README.md) and the
// page that starts it.
//
//go:embed ui
var uiFiles embed.FS

// uiCSP allows only this origin's scripts; Swagger UI needs inline styles
// and data: images.
const uiCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"

// OpenAPI returns the OpenAPI document the server serves.
func OpenAPI() []byte { return openAPI }

func (s *Server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPI)
	})
}

// handleUI serves the Swagger UI page at /api/v1/ui and its assets below it.
func (s *Server) handleUI() http.Handler {
	assets, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if name == "" {
			name = "index.html"
		}
		b, err := fs.ReadFile(assets, path.Clean(name))
		if err != nil || name == "README.md" {
			writeJSON(w, http.StatusNotFound, messageBody{notFoundMessage})
			return
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(b)
	})
}
