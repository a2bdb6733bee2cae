// Package mfa makes and checks the second factor: TOTP secrets (RFC 6238,
// SHA-1, 6 digits, 30 s, the parameters every authenticator app takes),
// sealed with SECRET_KEY before they are stored, their otpauth:// URL, and
// recovery codes.
package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"widgetapi"
	"widgetapi/internal/sealed"
)

// Issuer names the service in authenticator apps.
const Issuer = "widgetapi"

// period is the TOTP time step, in seconds.
const period = 30

// opts are the code parameters, those of the otpauth:// URL.
var opts = totp.ValidateOpts{Period: period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// secretBytes is the secret's length: 160 bits, RFC 4226's recommendation
// and SHA-1's output size.
const secretBytes = 20

// encoding is the base32 of secrets and recovery codes (RFC 4648, no
// padding), what authenticator apps read.
var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTP makes and checks one-time codes; it is a widgetapi.OTPChecker.
type TOTP struct {
	box *sealed.Box
	now func() time.Time
}

var _ widgetapi.OTPChecker = (*TOTP)(nil)

// New returns a TOTP that seals secrets with box and reads the time from
// now (time.Now when nil).
func New(box *sealed.Box, now func() time.Time) *TOTP {
	if now == nil {
		now = time.Now
	}
	return &TOTP{box: box, now: now}
}

// context binds a sealed secret to its user: moved to another user's row,
// it does not open.
func context(userID int64) []byte { return []byte("totp:" + strconv.FormatInt(userID, 10)) }

// NewSecret returns a new random secret, in base32, and its sealed form
// for the user.
func (t *TOTP) NewSecret(userID int64) (secret string, sealedSecret []byte, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("mfa: secret: %w", err)
	}
	secret = encoding.EncodeToString(b)
	sealedSecret, err = t.box.Seal([]byte(secret), context(userID))
	return secret, sealedSecret, err
}

// URL is the otpauth:// URL of secret for the account email, as
// authenticator apps read it (and QR codes carry it), with its parameters
// in the contract's order.
func URL(email, secret string) string {
	return "otpauth://totp/" + Issuer + ":" + url.PathEscape(email) + "?secret=" + secret +
		"&issuer=" + Issuer + "&algorithm=SHA1&digits=6&period=30"
}

// Step is the time step of t.
func Step(t time.Time) int64 { return t.Unix() / period }

// Code is the code of secret at t; tests and the load bench act as an
// authenticator app with it.
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, opts)
}

// MatchTOTP returns the step, within one of now either way and after
// after, at which code is the code of the user's sealed secret. The
// latest such step is taken, so that a code of the step ahead is
// consumed with every code before it.
func (t *TOTP) MatchTOTP(sealedSecret []byte, userID int64, code string, after int64) (int64, bool, error) {
	if !widgetapi.IsTOTPCode(code) {
		return 0, false, nil
	}
	secret, err := t.box.Open(sealedSecret, context(userID))
	if err != nil {
		return 0, false, fmt.Errorf("mfa: open secret: %w", err)
	}
	now := Step(t.now())
	match, found := int64(0), false
	// Every step is computed and compared in constant time, so that the
	// time taken says nothing of which one matched.
	for step := now - 1; step <= now+1; step++ {
		want, err := Code(string(secret), time.Unix(step*period, 0))
		if err != nil {
			return 0, false, fmt.Errorf("mfa: code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > after {
			match, found = step, true
		}
	}
	return match, found, nil
}

// recoveryCodeChars is the length of a recovery code: 10 base32
// characters, 50 random bits.
const recoveryCodeChars = 10

// RecoveryCodes returns widgetapi.RecoveryCodes new codes, as shown to the
// user (XXXXX-XXXXX), and their stored hashes.
func RecoveryCodes() (codes []string, hashes [][]byte, err error) {
	for range widgetapi.RecoveryCodes {
		b := make([]byte, 7)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, fmt.Errorf("mfa: recovery code: %w", err)
		}
		c := encoding.EncodeToString(b)[:recoveryCodeChars]
		c = c[:5] + "-" + c[5:]
		codes, hashes = append(codes, c), append(hashes, widgetapi.HashRecoveryCode(c))
	}
	return codes, hashes, nil
}

// NewToken returns a new mfa_token: 256 random bits, URL-safe.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mfa: token: %w", err)
	}
	return base64URL(b), nil
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
