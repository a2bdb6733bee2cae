package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"widgetapi"
)

// MsgBadLogin is the one answer to a failed login, whichever part was wrong.
const MsgBadLogin = "email or password does not match"

// Service is the authentication use-cases over a UserStore.
type Service struct {
	users  widgetapi.UserStore
	tokens *Tokens
	cost   int
	now    func() time.Time
	// dummyHash is compared against when no user matches, so that an unknown
	// email costs the same bcrypt work as a wrong password.
	dummyHash []byte
}

var _ widgetapi.AuthService = (*Service)(nil)

// NewService returns a Service that hashes passwords at bcrypt cost.
func NewService(users widgetapi.UserStore, tokens *Tokens, cost int, now func() time.Time) (*Service, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if now == nil {
		now = time.Now
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("widgetapi-dummy-password"), cost)
	if err != nil {
		return nil, fmt.Errorf("auth: prepare dummy hash: %w", err)
	}
	return &Service{users: users, tokens: tokens, cost: cost, now: now, dummyHash: dummy}, nil
}

// Tokens returns the token issuer the service uses.
func (s *Service) Tokens() *Tokens { return s.tokens }

// CreateUser validates the credentials and stores a new user.
// EINVALID for bad credentials, ECONFLICT when the email is taken.
func (s *Service) CreateUser(ctx context.Context, email, password string, admin bool) (*widgetapi.User, error) {
	if err := widgetapi.ValidateCredentials(email, password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
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
			return nil, widgetapi.Errorf(widgetapi.ECONFLICT, "%s is already registered", email)
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
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u == nil {
		return nil, widgetapi.AccessToken{}, widgetapi.Errorf(widgetapi.EBADLOGIN, MsgBadLogin)
	}
	tok, err := s.tokens.Issue(u)
	return u, tok, err
}

// Authenticate verifies a raw token and returns its user and claims.
// EUNAUTHORIZED with the message of the failure.
func (s *Service) Authenticate(ctx context.Context, raw string) (*widgetapi.User, *widgetapi.TokenClaims, error) {
	return s.AuthenticateWith(ctx, raw, s.users.FindTokenSubject)
}

// AuthenticateWith is Authenticate with the user and revocation read by
// lookup, which runs only for a token whose signature and claims are valid.
func (s *Service) AuthenticateWith(ctx context.Context, raw string, lookup widgetapi.SubjectLookup) (*widgetapi.User, *widgetapi.TokenClaims, error) {
	claims, err := s.tokens.Verify(raw)
	if err != nil {
		return nil, nil, err
	}
	u, revoked, err := lookup(ctx, claims.Subject, claims.ID)
	switch {
	case widgetapi.ErrorCode(err) == widgetapi.ENOTFOUND:
		return nil, nil, unauthorized(MsgInvalid, errors.New("token subject no longer exists"))
	case err != nil:
		return nil, nil, err
	case revoked:
		return nil, nil, unauthorized(MsgRevoked, nil)
	}
	return u, claims, nil
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
