package widgetapi

import "testing"

// A validation error names its fields in one line, in the order of their
// names, both on its own and in the error's text.
func TestErrorFieldProblems(t *testing.T) {
	e := Invalid(map[string]string{"password": "password is too short", "email": "x is not a valid email"})
	if got, want := e.(*Error).FieldProblems(), "email: x is not a valid email; password: password is too short"; got != want {
		t.Fatalf("FieldProblems() = %q, want %q", got, want)
	}
	if got, want := e.Error(), "invalid: Input payload validation failed; email: x is not a valid email; password: password is too short"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got := (&Error{Code: EINVALID}).FieldProblems(); got != "" {
		t.Fatalf("no fields: %q", got)
	}
}
