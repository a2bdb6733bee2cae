package sqlutil

import (
	"strings"
	"time"

	"widgetapi"
)

// Row is the current row of a hot read (sqlite's driver-level connections,
// PostgreSQL's pgconn), read by column name; each engine decodes its own
// encoding of the value. The statements that read widgets and token
// subjects name their columns alike on both engines, so that one scan
// reads them.
type Row interface {
	Null(name string) bool
	Int(name string) int64
	Bool(name string) bool
	Text(name string) string
	Time(name string) time.Time
	// UUID reads a public id: uuid on PostgreSQL, text on SQLite.
	UUID(name string) string
}

// WidgetColumns are the result columns ScanWidget reads, from a relation
// w of widgets joined with their owners o.
const WidgetColumns = `w.id AS id, w.name AS name, w.info_url AS info_url, w.created_at AS created_at,
	w.deadline AS deadline, w.updated_at AS updated_at, w.version AS version,
	o.id AS owner_id, o.email AS owner_email, o.public_id AS owner_public_id`

// ScanWidget reads WidgetColumns; nil when id is NULL (an outer join that
// found no widget).
func ScanWidget(r Row) *widgetapi.Widget {
	if r.Null("id") {
		return nil
	}
	return &widgetapi.Widget{
		ID: r.Int("id"), Name: r.Text("name"), InfoURL: r.Text("info_url"),
		CreatedAt: r.Time("created_at"), Deadline: r.Time("deadline"),
		UpdatedAt: r.Time("updated_at"), Version: r.Int("version"),
		Owner: widgetapi.WidgetOwner{ID: r.Int("owner_id"), Email: r.Text("owner_email"), PublicID: r.UUID("owner_public_id")},
	}
}

// SubjectColumns are the result columns of a token's subject, which
// ScanSubject reads: the user s and the token's session ses.
const SubjectColumns = `
	s.id AS subject_id, s.email AS subject_email, s.registered_on AS subject_registered_on,
	s.admin AS subject_admin, s.disabled AS subject_disabled, s.public_id AS subject_public_id,
	s.email_verified AS subject_email_verified, s.mfa AS subject_mfa,
	ses.seq IS NULL AS no_session, ses.revoked_at IS NOT NULL AS revoked`

// ScanSubject reads SubjectColumns.
func ScanSubject(r Row) widgetapi.TokenSubject {
	return widgetapi.TokenSubject{
		User: &widgetapi.User{
			ID: r.Int("subject_id"), Email: r.Text("subject_email"), RegisteredOn: r.Time("subject_registered_on"),
			Admin: r.Bool("subject_admin"), Disabled: r.Bool("subject_disabled"), PublicID: r.UUID("subject_public_id"),
			EmailVerified: r.Bool("subject_email_verified"),
			MFA:           r.Bool("subject_mfa"),
		},
		NoSession: r.Bool("no_session"),
		Revoked:   r.Bool("revoked"),
	}
}

// AccountTokenColumns are the columns of a one-time account token t that
// the engines read before its user's, in this order: kind, new email
// and session ("" for none), on_request, created_at, expires_at and
// used_at (NULL while unused).
const AccountTokenColumns = `t.kind, coalesce(t.new_email, ''), coalesce(t.session_jti, ''), t.on_request,
	t.created_at, t.expires_at, t.used_at`

// Prefixed is row read as columns into dest first, then into what its
// Scan is given: a statement that selects some columns before those a
// scanner of its own reads (a token's, then its user's).
func Prefixed(row Scanner, dest ...any) Scanner { return prefixed{row, dest} }

type prefixed struct {
	row  Scanner
	dest []any
}

func (p prefixed) Scan(dest ...any) error {
	return p.row.Scan(append(append([]any{}, p.dest...), dest...)...)
}

// TOTPColumns are the columns of a second factor, as ScanTOTP reads them.
const TOTPColumns = `secret, confirmed, last_step`

// ScanTOTP reads the factor of userID from row, nil when there is none.
func ScanTOTP(row Scanner, userID int64) (*widgetapi.TOTPFactor, error) {
	f := &widgetapi.TOTPFactor{UserID: userID}
	err := row.Scan(&f.Secret, &f.Confirmed, &f.LastStep)
	if NoRow(err) {
		return nil, nil
	}
	return f, err
}

// JoinAMR is the stored form of a session's amr: its methods separated by
// spaces, "pwd" when it has none.
func JoinAMR(amr []string) string {
	if len(amr) == 0 {
		return widgetapi.AMRPassword
	}
	return strings.Join(amr, " ")
}

// SplitAMR reads JoinAMR's form.
func SplitAMR(s string) []string { return strings.Fields(s) }
