package httpapi

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

// The account pages the links in mail open (contract Part 3, "Mail"): a
// small page of the binary's own for each kind of token, with a button
// that posts the token to the API. Opening a page changes nothing, since
// mail scanners open links; the person's press does. The token is in the
// page's query string only, and the page is kept from sending it anywhere
// else: no external asset, no referrer, nothing cached.

//go:embed account/page.html account/account.js account/account.css
var accountFiles embed.FS

// accountCSP lets the page load its own script and style and post to its
// own origin, and nothing else: no inline script or style, no frame.
const accountCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// accountPage is what page.html says for one kind of token.
type accountPage struct {
	Kind, Title, Intro, Button string
	// Action is the API route the button posts to.
	Action string
	// Password asks for the new password, twice.
	Password bool
}

var accountPages = map[string]accountPage{
	"verify-email": {Kind: "verify-email", Title: "Verify your email address", Action: "/api/v1/auth/email/verify",
		Intro: "Press the button to confirm that this address is yours.", Button: "Verify my email address"},
	"reset-password": {Kind: "reset-password", Title: "Choose a new password", Action: "/api/v1/auth/password/reset",
		Intro:  "Type your new password twice, then press the button. Every session signed in with the old one will be signed out.",
		Button: "Set the new password", Password: true},
	"confirm-email": {Kind: "confirm-email", Title: "Confirm your new email address", Action: "/api/v1/auth/email/confirm",
		Intro: "Press the button to make this address the one of your account.", Button: "Confirm my new address"},
}

// accountPageNames are the pages, in the order they are routed.
var accountPageNames = []string{"verify-email", "reset-password", "confirm-email"}

// accountAssets are the files the pages load, with their content types.
var accountAssets = map[string]string{
	"account.js":  "text/javascript; charset=utf-8",
	"account.css": "text/css; charset=utf-8",
}

// renderAccountPages renders each page once: they depend on nothing of the
// request.
func renderAccountPages() (map[string][]byte, error) {
	t, err := template.ParseFS(accountFiles, "account/page.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(accountPages))
	for name, p := range accountPages {
		var b bytes.Buffer
		if err := t.Execute(&b, p); err != nil {
			return nil, err
		}
		out[name] = b.Bytes()
	}
	return out, nil
}

// accountHeaders are the headers of every page and asset.
func accountHeaders(w http.ResponseWriter, ct string) {
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", accountCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// handleAccountPage serves the page name; it reads nothing of the request.
func (s *Server) handleAccountPage(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accountHeaders(w, "text/html; charset=utf-8")
		_, _ = w.Write(s.pages[name])
	})
}

// handleAccountAsset serves the script and the style of the pages.
func (s *Server) handleAccountAsset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		ct, ok := accountAssets[file]
		if !ok {
			s.writeError(w, r, s.Realm, errNoRoute)
			return
		}
		b, err := accountFiles.ReadFile("account/" + file)
		if err != nil {
			// Every name above is embedded; the pages' test loads each.
			s.writeError(w, r, s.Realm, err)
			return
		}
		accountHeaders(w, ct)
		_, _ = w.Write(b)
	})
}
