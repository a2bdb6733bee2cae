package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"widgetapi"
	"widgetapi/admission"
)

// MsgBadLogin is the one answer to a failed login, whichever part was wrong.
const MsgBadLogin = "email or password does not match"

// Service is the authentication use-cases over a UserStore.
type Service struct {
	users  widgetapi.UserStore
	tokens *Tokens
	cost   int
	gate   *admission.Gate
	now    func() time.Time
	// dummyHash is compared against when no user matches, so that an unknown
	// email costs the same bcrypt work as a wrong password.
	dummyHash []byte
}

var _ widgetapi.AuthService = (*Service)(nil)

// ServiceConfig holds the dependencies of a Service.
type ServiceConfig struct {
	Users widgetapi.UserStore // required
	// Tokens issues and verifies tokens; commands that only create users
	// may leave it nil.
	Tokens *Tokens
	// Cost is the bcrypt cost of new password hashes.
	Cost int
	// Gate, when set, admits every bcrypt hash or comparison, so that
	// hashing cannot take every core from other requests.
	Gate *admission.Gate
	Now  func() time.Time
}

// NewService checks cfg and returns a Service.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Users == nil {
		return nil, errors.New("auth: Users is required")
	}
	if cfg.Cost < bcrypt.MinCost || cfg.Cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d is outside %d..%d", cfg.Cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("widgetapi-dummy-password"), cfg.Cost)
	if err != nil {
		return nil, fmt.Errorf("auth: prepare dummy hash: %w", err)
	}
	return &Service{users: cfg.Users, tokens: cfg.Tokens, cost: cfg.Cost, gate: cfg.Gate, now: cfg.Now, dummyHash: dummy}, nil
}

// admit waits for the gate to admit one bcrypt operation.
func (s *Service) admit(ctx context.Context) (release func(), err error) {
	release, err = s.gate.Acquire(ctx)
	switch {
	case errors.Is(err, admission.ErrBusy):
		return nil, &widgetapi.Error{Code: widgetapi.EUNAVAILABLE, Err: err,
			Message: "The server is busy checking passwords. Please try again shortly."}
	case err != nil:
		return nil, widgetapi.Canceled(err)
	}
	return release, nil
}

// Tokens returns the token issuer the service uses.
func (s *Service) Tokens() *Tokens { return s.tokens }

// CreateUser validates the credentials and stores a new user.
// EINVALID for bad credentials, ECONFLICT when the email is taken.
func (s *Service) CreateUser(ctx context.Context, email, password string, admin bool) (*widgetapi.User, error) {
	if err := widgetapi.ValidateCredentials(email, password); err != nil {
		return nil, err
	}
	release, err := s.admit(ctx)
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	release()
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	u := &widgetapi.User{
		Email:        widgetapi.NormalizeEmail(email),
		PasswordHash: hash,
		PublicID:     uuid.NewString(),
		Admin:        admin,
		RegisteredOn: s.now().UTC().Truncate(time.Second),
	}
	if err := s.users.CreateUser(ctx, u); err != nil {
		if widgetapi.ErrorCode(err) == widgetapi.ECONFLICT {
			// Name the address as the client sent it.
			return nil, widgetapi.EmailTaken(email)
		}
		return nil, err
	}
	return u, nil
}

// Register creates a non-admin user and issues a token for them.
func (s *Service) Register(ctx context.Context, email, password string) (*widgetapi.User, widgetapi.AccessToken, error) {
	u, err := s.CreateUser(ctx, email, password, false)
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	tok, err := s.tokens.Issue(u)
	return u, tok, err
}

// Login checks credentials and issues a token. EINVALID when a field is
// missing or malformed, EBADLOGIN when the credentials do not match.
func (s *Service) Login(ctx context.Context, email, password string) (*widgetapi.User, widgetapi.AccessToken, error) {
	if err := widgetapi.ValidateLogin(email, password); err != nil {
		return nil, widgetapi.AccessToken{}, err
	}

	u, err := s.users.FindUserByEmail(ctx, widgetapi.NormalizeEmail(email))
	hash := s.dummyHash
	switch widgetapi.ErrorCode(err) {
	case "":
		hash = u.PasswordHash
	case widgetapi.ENOTFOUND:
	default:
		return nil, widgetapi.AccessToken{}, err
	}
	release, err := s.admit(ctx)
	if err != nil {
		return nil, widgetapi.AccessToken{}, err
	}
	mismatch := bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil
	release()
	if mismatch || u == nil {
		return nil, widgetapi.AccessToken{}, widgetapi.Errorf(widgetapi.EBADLOGIN, MsgBadLogin)
	}
	tok, err := s.tokens.Issue(u)
	return u, tok, err
}

// Verify checks a raw token's signature and claims. A user's request is
// waiting, so password hashing leaves the reserved cores to it.
func (s *Service) Verify(raw string) (*widgetapi.TokenClaims, error) {
	s.gate.NoteOther()
	return s.tokens.Verify(raw)
}

// Admit decides from the token's subject, as the database has it, whether
// the request may go on: the user must still exist and the token must not
// be revoked.
func (s *Service) Admit(_ *widgetapi.TokenClaims, subject widgetapi.TokenSubject) (*widgetapi.User, error) {
	switch {
	case subject.User == nil:
		return nil, unauthorized(MsgInvalid, errors.New("token subject no longer exists"))
	case subject.Revoked:
		return nil, unauthorized(MsgRevoked, nil)
	}
	return subject.User, nil
}

// Authenticate verifies raw, reads its subject and admits it.
func (s *Service) Authenticate(ctx context.Context, raw string) (*widgetapi.User, *widgetapi.TokenClaims, error) {
	claims, err := s.Verify(raw)
	if err != nil {
		return nil, nil, err
	}
	subject, err := s.users.FindTokenSubject(ctx, claims.Subject, claims.ID)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.Admit(claims, subject)
	return u, claims, err
}

// Logout revokes the token with claims until it would have expired anyway.
func (s *Service) Logout(ctx context.Context, claims *widgetapi.TokenClaims) error {
	return s.users.RevokeToken(ctx, claims.ID, claims.ExpiresAt)
}

// PurgeRevoked removes revocations of tokens that have expired.
func (s *Service) PurgeRevoked(ctx context.Context) (int64, error) {
	// A process whose clock lags the others' by up to the leeway still sees
	// the token as live, so keep its revocation that much longer.
	return s.users.PurgeRevokedTokens(ctx, s.now().Add(-s.tokens.cfg.Leeway))
}

// PurgeLoop purges expired revocations every interval until ctx ends,
// reporting failures to onErr.
func (s *Service) PurgeLoop(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.PurgeRevoked(ctx); err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
