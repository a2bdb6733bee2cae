package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"widgetapi"
)

// optBool is a boolean flag that also knows whether it was given, so that
// `user set --admin=false` and leaving --admin out differ.
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}

func (o *optBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	o.v = &b
	return nil
}

func (o *optBool) IsBoolFlag() bool { return true }

const userListUsage = `Usage: widgetapi user list [--email TEXT] [--admin=true|false] [--disabled=true|false] [--page N] [--per-page N]

Lists users in registration order, one page at a time, with the filters of
GET /api/v1/users: --email matches part of the address, without regard to
case.
`

func runUserList(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("user list", userListUsage, userReadVars())
	var f widgetapi.UserFilter
	var admin, disabled optBool
	fs.StringVar(&f.Email, "email", "", "only users whose email contains `TEXT`")
	fs.Var(&admin, "admin", "only administrators (true) or only the others (false)")
	fs.Var(&disabled, "disabled", "only disabled users (true) or only enabled ones (false)")
	pageArg := fs.String("page", "1", "the page to show")
	perPageArg := fs.String("per-page", "100", "users a page: 5, 10, 25, 50 or 100")
	if help, err := parseFlags(fs, args, stdout, stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "user list", "unexpected argument %q", fs.Arg(0))
	}
	f.Admin, f.Disabled = admin.v, disabled.v
	page, err := widgetapi.ParsePage(*pageArg, *perPageArg)
	if err != nil {
		return oneLine("user list", err)
	}
	ctx, op, err := openOperator(ctx, getenv, userReadVars(), stderr)
	if err != nil {
		return err
	}
	defer op.close()
	users, total, err := op.accounts.List(ctx, f, page)
	if err != nil {
		return oneLine("user list", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PUBLIC_ID\tEMAIL\tADMIN\tDISABLED\tREGISTERED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%s\n", u.PublicID, u.Email, u.Admin, u.Disabled, u.RegisteredOn.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noun := "users"
	if total == 1 {
		noun = "user"
	}
	fmt.Fprintf(stdout, "page %d of %d, %d %s\n", page.Number, page.TotalPages(total), total, noun)
	return nil
}

const userShowUsage = `Usage: widgetapi user show EMAIL

Shows the account with EMAIL as GET /api/v1/users/{public_id} does.
`

func runUserShow(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("user show", userShowUsage, userReadVars())
	email, help, err := parseUserArgs(fs, args, stdout, stderr)
	if help || err != nil {
		return err
	}
	return withUser(ctx, getenv, userReadVars(), stderr, fs.Name(), email, func(_ context.Context, _ *operator, u *widgetapi.User) error {
		printUser(stdout, u)
		return nil
	})
}

// withUser opens the operator and runs do with the user that email names;
// an unknown email is the command's one-line error.
func withUser(ctx context.Context, getenv func(string) string, env vars, stderr io.Writer, cmd, email string,
	do func(context.Context, *operator, *widgetapi.User) error) error {
	ctx, op, err := openOperator(ctx, getenv, env, stderr)
	if err != nil {
		return err
	}
	defer op.close()
	u, err := op.accounts.GetByEmail(ctx, email)
	if err != nil {
		return oneLine(cmd, err)
	}
	return do(ctx, op, u)
}

func printUser(w io.Writer, u *widgetapi.User) {
	fmt.Fprintf(w, "email:      %s\npublic_id:  %s\nadmin:      %t\ndisabled:   %t\nmfa:        %t\nregistered: %s\n",
		u.Email, u.PublicID, u.Admin, u.Disabled, u.MFA, u.RegisteredOn.UTC().Format(time.RFC3339))
}

const userSetUsage = `Usage: widgetapi user set EMAIL [--admin=true|false] [--disabled=true|false] [--mfa=false]

Changes the account with EMAIL as PATCH /api/v1/users/{public_id} does:
demoting takes effect on the user's next request, disabling ends every
session of theirs at once, in every process, and the last enabled
administrator cannot be demoted or disabled. --mfa=false turns off the
second factor of a user who lost it, and ends every session of theirs.
`

func runUserSet(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("user set", userSetUsage, userChangeVars())
	var admin, disabled, mfa optBool
	fs.Var(&admin, "admin", "make the user an administrator (true) or not (false)")
	fs.Var(&disabled, "disabled", "disable the account (true) or enable it again (false)")
	fs.Var(&mfa, "mfa", "false turns the user's second factor off")
	email, help, err := parseUserArgs(fs, args, stdout, stderr)
	if help || err != nil {
		return err
	}
	if admin.v == nil && disabled.v == nil && mfa.v == nil {
		return errors.New("user set: give at least one of --admin, --disabled, --mfa")
	}
	if mfa.v != nil && *mfa.v {
		return errors.New("user set: --mfa can only be false; a user turns their factor on by enrolling")
	}
	return withUser(ctx, getenv, userChangeVars(), stderr, fs.Name(), email, func(ctx context.Context, op *operator, u *widgetapi.User) error {
		u, err := op.accounts.Update(ctx, u.PublicID, widgetapi.UserUpdate{Admin: admin.v, Disabled: disabled.v, MFA: mfa.v})
		if err != nil {
			return oneLine("user set", err)
		}
		printUser(stdout, u)
		return nil
	})
}

const userDeleteUsage = `Usage: widgetapi user delete EMAIL [--transfer-to EMAIL]

Deletes the account with EMAIL and its sessions, as DELETE
/api/v1/users/{public_id} does. A user who owns widgets is only deleted with
--transfer-to naming an enabled administrator, who is given the widgets in
the same transaction. The last enabled administrator cannot be deleted.
`

func runUserDelete(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("user delete", userDeleteUsage, userChangeVars())
	heirEmail := fs.String("transfer-to", "", "give the user's widgets to the administrator with this `EMAIL`")
	email, help, err := parseUserArgs(fs, args, stdout, stderr)
	if help || err != nil {
		return err
	}
	return withUser(ctx, getenv, userChangeVars(), stderr, fs.Name(), email, func(ctx context.Context, op *operator, u *widgetapi.User) error {
		var heir string
		if *heirEmail != "" {
			h, err := op.accounts.GetByEmail(ctx, *heirEmail)
			if err != nil {
				return oneLine("user delete --transfer-to", err)
			}
			heir = h.PublicID
		}
		if err := op.accounts.Delete(ctx, u.PublicID, heir); err != nil {
			return oneLine("user delete", err)
		}
		fmt.Fprintf(stdout, "deleted %s (public_id %s)\n", u.Email, u.PublicID)
		return nil
	})
}
