// Command session runs README.md's curl session through the Go client that
// oapi-codegen generates from httpapi/openapi.json (client.gen.go, made by
// the test beside it): widgetapi's document is what a Go client is written
// against. It prints one "ok" line a step and exits 1 at the first answer
// that is not the README's.
//
//	go run . BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: session BASE_URL ADMIN_EMAIL ADMIN_PASSWORD")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "session:", err)
		os.Exit(1)
	}
}

// expect checks one answer: its status, and what else must hold.
func expect(step string, got, want int, body []byte, ok bool) error {
	if got != want || !ok {
		return fmt.Errorf("%s: %d, want %d: %.300s", step, got, want, body)
	}
	fmt.Println("ok", step)
	return nil
}

func bearer(token string) RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func userAgent(ua string) RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("User-Agent", ua)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func run(ctx context.Context, base, adminEmail, adminPassword string) error {
	// Every request carries a request id, as a default header of the
	// client: no operation takes it as a parameter.
	c, err := NewClientWithResponses(base, WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Request-ID", "go-client-session")
		return nil
	}))
	if err != nil {
		return err
	}

	reg, err := c.RegisterWithFormdataBodyWithResponse(ctx, RegisterFormdataRequestBody{Email: "alice@example.com", Password: "alice-password"})
	if err != nil {
		return err
	}
	if err := expect("register", reg.StatusCode(), 201, reg.Body, reg.JSON201 != nil && reg.JSON201.AccessToken != "" &&
		reg.Headers201 != nil && reg.Headers201.XRequestID == "go-client-session"); err != nil {
		return err
	}
	login, err := c.LoginWithResponse(ctx, LoginJSONRequestBody{Email: "alice@example.com", Password: "alice-password"})
	if err != nil {
		return err
	}
	if err := expect("login (JSON)", login.StatusCode(), 200, login.Body, login.JSON200 != nil); err != nil {
		return err
	}
	user := login.JSON200.AccessToken
	me, err := c.CurrentUserWithResponse(ctx, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("current user", me.StatusCode(), 200, me.Body, me.JSON200 != nil && me.JSON200.Email == "alice@example.com" && !me.JSON200.Admin); err != nil {
		return err
	}
	alice := me.JSON200.PublicId.String()

	adminLogin, err := c.LoginWithFormdataBodyWithResponse(ctx, LoginFormdataRequestBody{Email: Email(adminEmail), Password: adminPassword})
	if err != nil {
		return err
	}
	if err := expect("administrator login (form)", adminLogin.StatusCode(), 200, adminLogin.Body, adminLogin.JSON200 != nil); err != nil {
		return err
	}
	admin := adminLogin.JSON200.AccessToken

	created, err := c.CreateWidgetWithFormdataBodyWithResponse(ctx, CreateWidgetFormdataRequestBody{
		Name: "my-widget", InfoUrl: "https://www.example.com", Deadline: "2099-12-31"}, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("create my-widget", created.StatusCode(), 201, created.Body, created.JSON201 != nil &&
		strings.HasSuffix(created.HTTPResponse.Header.Get("Location"), "/api/v1/widgets/my-widget")); err != nil {
		return err
	}
	for i := 1; i <= 5; i++ {
		more, err := c.CreateWidgetWithResponse(ctx, CreateWidgetJSONRequestBody{
			Name: fmt.Sprintf("my-widget-%d", i), InfoUrl: fmt.Sprintf("https://www.example.com/%d", i),
			Deadline: fmt.Sprintf("2099-06-0%d", i)}, bearer(admin))
		if err != nil {
			return err
		}
		if err := expect(fmt.Sprintf("create my-widget-%d (JSON)", i), more.StatusCode(), 201, more.Body, true); err != nil {
			return err
		}
	}

	list, err := c.ListWidgetsWithResponse(ctx, &ListWidgetsParams{Page: ptr(1), PerPage: ptr(ListWidgetsParamsPerPageN10)}, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("list", list.StatusCode(), 200, list.Body, list.JSON200 != nil && list.JSON200.TotalItems == 6 && len(list.JSON200.Items) == 6); err != nil {
		return err
	}
	got, err := c.GetWidgetWithResponse(ctx, "my-widget", nil, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("read my-widget", got.StatusCode(), 200, got.Body, got.JSON200 != nil && got.JSON200.Name == "my-widget"); err != nil {
		return err
	}

	filtered := &ListWidgetsParams{NamePrefix: ptr("my-"), DeadlineAfter: ptr("2099-01-01"), Sort: ptr(MinusDeadline),
		PerPage: ptr(ListWidgetsParamsPerPageN5), Passed: ptr(false)}
	page1, err := c.ListWidgetsWithResponse(ctx, filtered, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("filtered list, page 1", page1.StatusCode(), 200, page1.Body, page1.JSON200 != nil &&
		len(page1.JSON200.Items) == 5 && page1.JSON200.Items[0].Name == "my-widget" && page1.JSON200.NextCursor != nil); err != nil {
		return err
	}
	page2, err := c.ListWidgetsWithResponse(ctx, &ListWidgetsParams{Cursor: page1.JSON200.NextCursor, PerPage: ptr(ListWidgetsParamsPerPageN5)}, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("the next page by cursor", page2.StatusCode(), 200, page2.Body, page2.JSON200 != nil &&
		len(page2.JSON200.Items) == 1 && page2.JSON200.Items[0].Name == "my-widget-1" && page2.JSON200.NextCursor == nil); err != nil {
		return err
	}
	passed, err := c.ListWidgetsWithResponse(ctx, &ListWidgetsParams{Passed: ptr(true)}, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("no widget has passed", passed.StatusCode(), 200, passed.Body, passed.JSON200 != nil && passed.JSON200.TotalItems == 0); err != nil {
		return err
	}
	refused, err := c.CreateWidgetWithFormdataBodyWithResponse(ctx, CreateWidgetFormdataRequestBody{
		Name: "nope", InfoUrl: "https://www.example.com", Deadline: "2099-12-31"}, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("a user may not create", refused.StatusCode(), 403, refused.Body, refused.JSON403 != nil); err != nil {
		return err
	}

	put, err := c.UpdateWidgetWithFormdataBodyWithResponse(ctx, "my-widget", nil, UpdateWidgetFormdataRequestBody{
		InfoUrl: "https://www.example.org", Deadline: "Dec 31 2099"}, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("PUT", put.StatusCode(), 200, put.Body, put.JSON200 != nil); err != nil {
		return err
	}
	read, err := c.GetWidgetWithResponse(ctx, "my-widget", nil, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("read with its ETag", read.StatusCode(), 200, read.Body, read.Headers200 != nil && read.Headers200.ETag != nil &&
		read.JSON200.InfoUrl == "https://www.example.org"); err != nil {
		return err
	}
	etag := *read.Headers200.ETag
	fresh, err := c.GetWidgetWithResponse(ctx, "my-widget", &GetWidgetParams{IfNoneMatch: &etag}, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("revalidate: 304", fresh.StatusCode(), 304, fresh.Body, len(fresh.Body) == 0); err != nil {
		return err
	}
	patched, err := c.PatchWidgetWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, "my-widget", &PatchWidgetParams{IfMatch: &etag},
		PatchWidgetApplicationMergePatchPlusJSONRequestBody{Deadline: ptr("2099-06-30")}, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("PATCH with If-Match", patched.StatusCode(), 200, patched.Body, patched.JSON200 != nil); err != nil {
		return err
	}
	stale, err := c.PatchWidgetWithFormdataBodyWithResponse(ctx, "my-widget", &PatchWidgetParams{IfMatch: &etag},
		PatchWidgetFormdataRequestBody{InfoUrl: ptr("https://www.example.net")}, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("PATCH with a stale ETag: 412", stale.StatusCode(), 412, stale.Body, stale.JSON412 != nil &&
		stale.JSON412.Message == "my-widget has changed since it was read."); err != nil {
		return err
	}
	del, err := c.DeleteWidgetWithResponse(ctx, "my-widget", nil, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("delete", del.StatusCode(), 204, del.Body, true); err != nil {
		return err
	}

	phone, err := c.LoginWithFormdataBodyWithResponse(ctx, LoginFormdataRequestBody{Email: "alice@example.com", Password: "alice-password"}, userAgent("phone/1.0"))
	if err != nil {
		return err
	}
	if err := expect("login from a phone", phone.StatusCode(), 200, phone.Body, phone.JSON200 != nil); err != nil {
		return err
	}
	sessions, err := c.ListSessionsWithResponse(ctx, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("sessions", sessions.StatusCode(), 200, sessions.Body, sessions.JSON200 != nil && len(sessions.JSON200.Items) == 3 &&
		sessions.JSON200.Items[0].UserAgent == "phone/1.0" && slices.ContainsFunc(sessions.JSON200.Items, func(s Session) bool { return s.Current })); err != nil {
		return err
	}
	pw, err := c.ChangePasswordWithFormdataBodyWithResponse(ctx, ChangePasswordFormdataRequestBody{
		CurrentPassword: "alice-password", NewPassword: "alice-password-2"}, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("change the password", pw.StatusCode(), 200, pw.Body, pw.JSON200 != nil); err != nil {
		return err
	}
	user = pw.JSON200.AccessToken
	ended, err := c.CurrentUserWithResponse(ctx, bearer(phone.JSON200.AccessToken))
	if err != nil {
		return err
	}
	if err := expect("the phone's session has ended", ended.StatusCode(), 401, ended.Body, ended.JSON401 != nil); err != nil {
		return err
	}

	users, err := c.ListUsersWithResponse(ctx, &ListUsersParams{Email: ptr("alice"), Admin: ptr(false)}, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("users by email and admin=false", users.StatusCode(), 200, users.Body, users.JSON200 != nil &&
		len(users.JSON200.Items) == 1 && users.JSON200.Items[0].PublicId.String() == alice); err != nil {
		return err
	}
	promoted, err := c.ChangeUserWithResponse(ctx, alice, ChangeUserJSONRequestBody{Admin: ptr(true)}, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("promote", promoted.StatusCode(), 200, promoted.Body, promoted.JSON200 != nil && promoted.JSON200.Admin); err != nil {
		return err
	}
	events, err := c.ListAuditEventsWithResponse(ctx, &ListAuditEventsParams{Target: &alice}, bearer(admin))
	if err != nil {
		return err
	}
	var actions []AuditAction
	if events.JSON200 != nil {
		for _, ev := range events.JSON200.Items {
			actions = append(actions, ev.Action)
		}
	}
	if err := expect("alice's events by public id", events.StatusCode(), 200, events.Body,
		slices.Contains(actions, AuditActionAuthLogin) && slices.Contains(actions, AuditActionUserUpdated)); err != nil {
		return err
	}
	logins, err := c.ListAuditEventsWithResponse(ctx, &ListAuditEventsParams{Action: ptr(AuditActionAuthLogin), Target: ptr("alice@example.com")}, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("alice's logins", logins.StatusCode(), 200, logins.Body, logins.JSON200 != nil && logins.JSON200.TotalItems == 2); err != nil {
		return err
	}

	out, err := c.LogoutWithFormdataBodyWithResponse(ctx, &LogoutParams{Scope: ptr(Global)}, LogoutFormdataRequestBody{}, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("log out everywhere", out.StatusCode(), 200, out.Body, out.JSON200 != nil); err != nil {
		return err
	}
	after, err := c.CurrentUserWithResponse(ctx, bearer(user))
	if err != nil {
		return err
	}
	if err := expect("refused after logout", after.StatusCode(), 401, after.Body, after.JSON401 != nil &&
		string(after.JSON401.Message) == "Token blacklisted. Please log in again."); err != nil {
		return err
	}
	me, err = c.CurrentUserWithResponse(ctx, bearer(admin))
	if err != nil {
		return err
	}
	if err := expect("the administrator", me.StatusCode(), 200, me.Body, me.JSON200 != nil && me.JSON200.Admin); err != nil {
		return err
	}
	heir := me.JSON200.PublicId.String()
	gone, err := c.DeleteUserWithResponse(ctx, alice, &DeleteUserParams{TransferTo: &heir}, bearer(admin))
	if err != nil {
		return err
	}
	return expect("delete alice", gone.StatusCode(), 204, gone.Body, true)
}
