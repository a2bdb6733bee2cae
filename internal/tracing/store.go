package tracing

import (
	"context"
	"time"

	"github.com/pressly/goose/v3"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"widgetapi"
	"widgetapi/internal/dbstats"
	"widgetapi/internal/store"
)

// The stores below trace each database call as a span, "db MethodName",
// a child of the span in the call's context (the request's), with
// db.system. Every method is written out, none is embedded from the store
// it wraps: a method added to widgetapi.UserStore, SessionStore,
// WidgetStore, AuditStore, Throttle or store.Store fails to compile here (the var _ lines) until
// it has its few lines below, so that no call goes untraced.
var (
	_ store.Store           = tracedStore{}
	_ widgetapi.UserStore   = users{}
	_ widgetapi.WidgetStore = widgets{}
)

// DB starts the spans of one engine's calls.
type DB struct {
	tracer trace.Tracer
	system attribute.KeyValue
}

// NewDB returns the spans' maker for engine, as store.Store's Engine names
// it ("sqlite" or "postgres").
func NewDB(tp trace.TracerProvider, engine string) DB {
	system := semconv.DBSystemKey.String(engine)
	switch engine {
	case "sqlite":
		system = semconv.DBSystemSqlite
	case "postgres":
		system = semconv.DBSystemPostgreSQL
	}
	return DB{tracer: tp.Tracer("widgetapi/internal/tracing"), system: system}
}

// Store returns s with every call traced.
func (db DB) Store(s store.Store) store.Store {
	return tracedStore{users: users{db, s}, widgets: widgets{db, s}, next: s}
}

// Users returns u with every call traced.
func (db DB) Users(u widgetapi.UserStore) widgetapi.UserStore { return users{db, u} }

// Widgets returns w with every call traced.
func (db DB) Widgets(w widgetapi.WidgetStore) widgetapi.WidgetStore { return widgets{db, w} }

func (db DB) start(ctx context.Context, name string) (context.Context, trace.Span) {
	return db.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(db.system))
}

// end ends span with the outcome of its call and returns err. An answer of
// the domain (no such record, a name taken, invalid input) is a call that
// worked; any other error (the database unreachable, a timeout, a bug)
// marks the span failed.
func end(span trace.Span, err error) error {
	if err != nil {
		switch code := widgetapi.ErrorCode(err); code {
		case widgetapi.ENOTFOUND, widgetapi.ECONFLICT, widgetapi.EINVALID, widgetapi.EPRECONDITION:
		default:
			span.SetAttributes(semconv.ErrorTypeKey.String(code))
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
	return err
}

// tracedStore is a store.Store: the domain stores traced, and what
// operating the engine needs.
type tracedStore struct {
	users
	widgets
	next store.Store
}

func (s tracedStore) Ping(ctx context.Context) error {
	ctx, span := s.users.db.start(ctx, "db Ping")
	return end(span, s.next.Ping(ctx))
}

func (s tracedStore) Analyze(ctx context.Context) error {
	ctx, span := s.users.db.start(ctx, "db Analyze")
	return end(span, s.next.Analyze(ctx))
}

func (s tracedStore) RecordEvent(ctx context.Context, ev *widgetapi.Event) error {
	ctx, span := s.users.db.start(ctx, "db RecordEvent")
	return end(span, s.next.RecordEvent(ctx, ev))
}

func (s tracedStore) ListEvents(ctx context.Context, f widgetapi.EventFilter, page widgetapi.Page) ([]*widgetapi.Event, int, error) {
	ctx, span := s.users.db.start(ctx, "db ListEvents")
	list, total, err := s.next.ListEvents(ctx, f, page)
	return list, total, end(span, err)
}

func (s tracedStore) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	ctx, span := s.users.db.start(ctx, "db PurgeEvents")
	n, err := s.next.PurgeEvents(ctx, before)
	return n, end(span, err)
}

func (s tracedStore) InsertSigningKey(ctx context.Context, k *widgetapi.SigningKey) (bool, error) {
	ctx, span := s.users.db.start(ctx, "db InsertSigningKey")
	ok, err := s.next.InsertSigningKey(ctx, k)
	return ok, end(span, err)
}

func (s tracedStore) DeleteSigningKey(ctx context.Context, kid string) error {
	ctx, span := s.users.db.start(ctx, "db DeleteSigningKey")
	return end(span, s.next.DeleteSigningKey(ctx, kid))
}

func (s tracedStore) SigningKeys(ctx context.Context) ([]*widgetapi.SigningKey, error) {
	ctx, span := s.users.db.start(ctx, "db SigningKeys")
	list, err := s.next.SigningKeys(ctx)
	return list, end(span, err)
}

// Throttle traces the calls of the engine's throttle: on PostgreSQL each
// is a statement.
func (s tracedStore) Throttle(limits widgetapi.Limits) widgetapi.Throttle {
	return throttle{db: s.users.db, next: s.next.Throttle(limits)}
}

// throttle traces a widgetapi.Throttle.
type throttle struct {
	db   DB
	next widgetapi.Throttle
}

var _ widgetapi.Throttle = throttle{}

func (t throttle) Request(ctx context.Context, addr string, now time.Time) (widgetapi.Verdict, error) {
	ctx, span := t.db.start(ctx, "db ThrottleRequest")
	v, err := t.next.Request(ctx, addr, now)
	return v, end(span, err)
}

func (t throttle) Attempt(ctx context.Context, email, addr string, now time.Time) (widgetapi.Verdict, error) {
	ctx, span := t.db.start(ctx, "db ThrottleAttempt")
	v, err := t.next.Attempt(ctx, email, addr, now)
	return v, end(span, err)
}

// Succeeded makes no database call on any engine.
func (t throttle) Succeeded(ctx context.Context, email, addr string) {
	t.next.Succeeded(ctx, email, addr)
}

func (t throttle) ClearFailures(ctx context.Context, email string) error {
	ctx, span := t.db.start(ctx, "db ClearFailures")
	return end(span, t.next.ClearFailures(ctx, email))
}

func (t throttle) Purge(ctx context.Context, now time.Time) (int64, error) {
	ctx, span := t.db.start(ctx, "db ThrottlePurge")
	n, err := t.next.Purge(ctx, now)
	return n, end(span, err)
}

// Close, Migrations, PoolStats and Engine make no call worth a span.

func (s tracedStore) Close() error                         { return s.next.Close() }
func (s tracedStore) Migrations() (*goose.Provider, error) { return s.next.Migrations() }
func (s tracedStore) PoolStats() []dbstats.Pool            { return s.next.PoolStats() }
func (s tracedStore) Engine() string                       { return s.next.Engine() }

// users traces a widgetapi.UserStore, its SessionStore included.
type users struct {
	db   DB
	next widgetapi.UserStore
}

func (u users) CreateUser(ctx context.Context, user *widgetapi.User, first *widgetapi.Session, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db CreateUser")
	return end(span, u.next.CreateUser(ctx, user, first, ev))
}

func (u users) FindUser(ctx context.Context, publicID string) (*widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db FindUser")
	user, err := u.next.FindUser(ctx, publicID)
	return user, end(span, err)
}

func (u users) ListUsers(ctx context.Context, f widgetapi.UserFilter, page widgetapi.Page) ([]*widgetapi.User, int, error) {
	ctx, span := u.db.start(ctx, "db ListUsers")
	list, total, err := u.next.ListUsers(ctx, f, page)
	return list, total, end(span, err)
}

func (u users) UpdateUser(ctx context.Context, publicID string, upd widgetapi.UserUpdate, at time.Time, ev *widgetapi.Event) (*widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db UpdateUser")
	user, err := u.next.UpdateUser(ctx, publicID, upd, at, ev)
	return user, end(span, err)
}

func (u users) DeleteUser(ctx context.Context, publicID, transferTo string, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db DeleteUser")
	return end(span, u.next.DeleteUser(ctx, publicID, transferTo, ev))
}

func (u users) FindUserByEmail(ctx context.Context, email string) (*widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db FindUserByEmail")
	user, err := u.next.FindUserByEmail(ctx, email)
	return user, end(span, err)
}

func (u users) FindTokenSubject(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, error) {
	ctx, span := u.db.start(ctx, "db FindTokenSubject")
	sub, err := u.next.FindTokenSubject(ctx, publicID, jti)
	return sub, end(span, err)
}

func (u users) CreateSession(ctx context.Context, s *widgetapi.Session, credential []byte, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db CreateSession")
	return end(span, u.next.CreateSession(ctx, s, credential, ev))
}

func (u users) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*widgetapi.Session, error) {
	ctx, span := u.db.start(ctx, "db ListSessions")
	ss, err := u.next.ListSessions(ctx, userID, now)
	return ss, end(span, err)
}

func (u users) RevokeSession(ctx context.Context, userID int64, jti string, at time.Time, ev *widgetapi.Event) (bool, error) {
	ctx, span := u.db.start(ctx, "db RevokeSession")
	ok, err := u.next.RevokeSession(ctx, userID, jti, at, ev)
	return ok, end(span, err)
}

func (u users) RevokeSessions(ctx context.Context, userID int64, except string, at time.Time, ev *widgetapi.Event) (int64, error) {
	ctx, span := u.db.start(ctx, "db RevokeSessions")
	n, err := u.next.RevokeSessions(ctx, userID, except, at, ev)
	return n, end(span, err)
}

func (u users) SetPassword(ctx context.Context, userID int64, current, hash []byte, at time.Time, next *widgetapi.Session, notice *widgetapi.Mail, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db SetPassword")
	return end(span, u.next.SetPassword(ctx, userID, current, hash, at, next, notice, ev))
}

func (u users) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	ctx, span := u.db.start(ctx, "db PurgeSessions")
	n, err := u.next.PurgeSessions(ctx, before)
	return n, end(span, err)
}

func (u users) EnrolTOTP(ctx context.Context, f *widgetapi.TOTPFactor, credential []byte) error {
	ctx, span := u.db.start(ctx, "db EnrolTOTP")
	return end(span, u.next.EnrolTOTP(ctx, f, credential))
}

func (u users) ConfirmTOTP(ctx context.Context, user *widgetapi.User, code string, chk widgetapi.OTPChecker, recovery [][]byte, keep string, at time.Time, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db ConfirmTOTP")
	return end(span, u.next.ConfirmTOTP(ctx, user, code, chk, recovery, keep, at, ev))
}

func (u users) ChangeMFA(ctx context.Context, user *widgetapi.User, credential []byte, otp string, chk widgetapi.OTPChecker, recovery [][]byte, at time.Time, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db ChangeMFA")
	return end(span, u.next.ChangeMFA(ctx, user, credential, otp, chk, recovery, at, ev))
}

func (u users) StartMFALogin(ctx context.Context, c *widgetapi.MFAChallenge) error {
	ctx, span := u.db.start(ctx, "db StartMFALogin")
	return end(span, u.next.StartMFALogin(ctx, c))
}

func (u users) FindMFALogin(ctx context.Context, hash []byte, now time.Time) (*widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db FindMFALogin")
	user, err := u.next.FindMFALogin(ctx, hash, now)
	return user, end(span, err)
}

func (u users) FinishMFALogin(ctx context.Context, userID int64, hash []byte, otp string, chk widgetapi.OTPChecker, at time.Time,
	open func(*widgetapi.User, widgetapi.FactorUse) (*widgetapi.Session, *widgetapi.Event, error)) (*widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db FinishMFALogin")
	user, err := u.next.FinishMFALogin(ctx, userID, hash, otp, chk, at, open)
	return user, end(span, err)
}

// widgets traces a widgetapi.WidgetStore.
type widgets struct {
	db   DB
	next widgetapi.WidgetStore
}

func (w widgets) CreateWidget(ctx context.Context, widget *widgetapi.Widget, ev *widgetapi.Event) error {
	ctx, span := w.db.start(ctx, "db CreateWidget")
	return end(span, w.next.CreateWidget(ctx, widget, ev))
}

func (w widgets) CreateWidgets(ctx context.Context, ws []*widgetapi.Widget) ([]bool, error) {
	ctx, span := w.db.start(ctx, "db CreateWidgets")
	inserted, err := w.next.CreateWidgets(ctx, ws)
	return inserted, end(span, err)
}

func (w widgets) FindWidgetForToken(ctx context.Context, publicID, jti, name string) (widgetapi.TokenSubject, *widgetapi.Widget, error) {
	ctx, span := w.db.start(ctx, "db FindWidgetForToken")
	sub, widget, err := w.next.FindWidgetForToken(ctx, publicID, jti, name)
	return sub, widget, end(span, err)
}

func (w widgets) ListWidgets(ctx context.Context, q widgetapi.WidgetQuery) (widgetapi.WidgetList, error) {
	ctx, span := w.db.start(ctx, "db ListWidgets")
	l, err := w.next.ListWidgets(ctx, q)
	return l, end(span, err)
}

func (w widgets) WidgetStampForToken(ctx context.Context, publicID, jti string) (widgetapi.TokenSubject, widgetapi.WidgetStamp, error) {
	ctx, span := w.db.start(ctx, "db WidgetStampForToken")
	sub, stamp, err := w.next.WidgetStampForToken(ctx, publicID, jti)
	return sub, stamp, end(span, err)
}

func (w widgets) FindWidgets(ctx context.Context, page widgetapi.Page) ([]*widgetapi.Widget, int, error) {
	ctx, span := w.db.start(ctx, "db FindWidgets")
	items, total, err := w.next.FindWidgets(ctx, page)
	return items, total, end(span, err)
}

func (w widgets) PutWidget(ctx context.Context, widget *widgetapi.Widget, p widgetapi.Precondition, ev *widgetapi.Event) (bool, error) {
	ctx, span := w.db.start(ctx, "db PutWidget")
	created, err := w.next.PutWidget(ctx, widget, p, ev)
	return created, end(span, err)
}

func (w widgets) PatchWidget(ctx context.Context, name string, patch widgetapi.WidgetPatch, version int64, at time.Time,
	p widgetapi.Precondition, ev *widgetapi.Event) (*widgetapi.Widget, error) {
	ctx, span := w.db.start(ctx, "db PatchWidget")
	widget, err := w.next.PatchWidget(ctx, name, patch, version, at, p, ev)
	return widget, end(span, err)
}

func (w widgets) DeleteWidget(ctx context.Context, name string, p widgetapi.Precondition, ev *widgetapi.Event) error {
	ctx, span := w.db.start(ctx, "db DeleteWidget")
	return end(span, w.next.DeleteWidget(ctx, name, p, ev))
}

func (u users) RegisterUser(ctx context.Context, user *widgetapi.User, first *widgetapi.Session, verify *widgetapi.TokenMail, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db RegisterUser")
	return end(span, u.next.RegisterUser(ctx, user, first, verify, ev))
}

func (u users) FindAccountToken(ctx context.Context, hash []byte) (*widgetapi.AccountToken, *widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db FindAccountToken")
	t, user, err := u.next.FindAccountToken(ctx, hash)
	return t, user, end(span, err)
}

func (u users) VerifyEmail(ctx context.Context, hash []byte, at time.Time, ev *widgetapi.Event) (*widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db VerifyEmail")
	user, err := u.next.VerifyEmail(ctx, hash, at, ev)
	return user, end(span, err)
}

func (u users) ResendVerification(ctx context.Context, tm widgetapi.TokenMail, ev *widgetapi.Event) error {
	ctx, span := u.db.start(ctx, "db ResendVerification")
	return end(span, u.next.ResendVerification(ctx, tm, ev))
}

func (u users) RequestPasswordReset(ctx context.Context, email string, tm widgetapi.TokenMail, ev *widgetapi.Event) (bool, error) {
	ctx, span := u.db.start(ctx, "db RequestPasswordReset")
	sent, err := u.next.RequestPasswordReset(ctx, email, tm, ev)
	return sent, end(span, err)
}

func (u users) ResetPassword(ctx context.Context, hash []byte, userID int64, otp string, chk widgetapi.OTPChecker, pwHash []byte, at time.Time, next *widgetapi.Session, notice *widgetapi.Mail, ev *widgetapi.Event) (*widgetapi.User, error) {
	ctx, span := u.db.start(ctx, "db ResetPassword")
	user, err := u.next.ResetPassword(ctx, hash, userID, otp, chk, pwHash, at, next, notice, ev)
	return user, end(span, err)
}

func (u users) RequestEmailChange(ctx context.Context, userID int64, current []byte, change widgetapi.TokenMail, notice *widgetapi.Mail, ev *widgetapi.Event) (bool, error) {
	ctx, span := u.db.start(ctx, "db RequestEmailChange")
	issued, err := u.next.RequestEmailChange(ctx, userID, current, change, notice, ev)
	return issued, end(span, err)
}

func (u users) ConfirmEmailChange(ctx context.Context, hash []byte, at time.Time, ev *widgetapi.Event) (*widgetapi.User, string, error) {
	ctx, span := u.db.start(ctx, "db ConfirmEmailChange")
	user, old, err := u.next.ConfirmEmailChange(ctx, hash, at, ev)
	return user, old, end(span, err)
}
