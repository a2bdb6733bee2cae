package httpapi_test

import (
	"net/http"
	"testing"

	"widgetapi/internal/testdb"
)

func TestHarnessRegisterAndCurrentUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine)
		tok := e.register("someone@example.com", "password1")
		res := e.do(request{Method: "GET", Path: "/api/v1/auth/user", Token: tok})
		if res.Status != http.StatusOK {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
		if got := res.JSON(t)["email"]; got != "someone@example.com" {
			t.Fatalf("email = %v", got)
		}
	})
}
