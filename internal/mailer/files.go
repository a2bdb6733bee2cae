package mailer

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"time"

	"widgetapi"
)

// Files writes each mail as one RFC 5322 .eml file into Dir: the mail a
// newcomer's service sends, read with any mail program or a text editor.
type Files struct {
	Dir  string
	From *mail.Address
	Now  func() time.Time
}

// String says where mail goes.
func (f *Files) String() string { return "files in " + f.Dir }

// Send writes m into a temporary file and renames it into place, so that
// a reader of Dir never sees half a mail. The name starts with the time
// it was written, to the nanosecond, so that the files sort in the order
// the mails went; the outbox id (or the kind, for a mail of no row) keeps
// two of the same instant apart.
func (f *Files) Send(_ context.Context, m *widgetapi.Mail) (string, error) {
	msg, err := Message(m, f.From)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return "", fmt.Errorf("mail directory: %w", err)
	}
	tmp, err := os.CreateTemp(f.Dir, ".writing-*.eml")
	if err != nil {
		return "", fmt.Errorf("mail file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("mail file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("mail file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("mail file: %w", err)
	}
	name := fmt.Sprintf("%s-%s.eml", f.Now().UTC().Format("20060102T150405.000000000Z"), fileTag(m))
	path := filepath.Join(f.Dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("mail file: %w", err)
	}
	return "written to " + path, nil
}

func fileTag(m *widgetapi.Mail) string {
	if m.ID == 0 {
		return m.Kind
	}
	return fmt.Sprintf("%d", m.ID)
}
