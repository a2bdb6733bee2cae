package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"widgetapi"
	"widgetapi/httpapi"
	"widgetapi/internal/config"
	"widgetapi/internal/store"
)

// widgetVars are what the widget commands read: the database, and the time
// zone of the deadline's day.
func widgetVars() vars { return databaseVars("TZ") }

const widgetImportUsage = `Usage: widgetapi widget import [--owner EMAIL] FILE

Loads widgets from FILE (- for standard input), JSON Lines: one widget
object a line, as 'widgetapi widget export' writes it and GET
/api/v1/widgets/{name} returns it. Each line needs name, info_url and
deadline (deadline_iso8601, when present, is read instead); created_at_iso8601
and updated_at_iso8601, when present, are kept, else the widget is created
(and last updated) now. Lines are checked
with the API's rules, except that a deadline may be in the past: an
export of widgets whose deadlines have passed imports as it was written.
Widgets are created in the order of the file, in batches.

The owner of every widget is the administrator --owner names; without
it, the administrator the line's owner.email names; a disabled one owns
nothing. Each rejected line (invalid, not UTF-8, over 1 MiB, a name
already taken, no such administrator) is reported on
standard error with its number and reason, and the others are imported;
a summary goes to standard output, and the command exits non-zero if
any line was rejected.
`

const widgetExportUsage = `Usage: widgetapi widget export [FILE]

Writes every widget as JSON Lines to FILE (a new file readable by its
owner only, which replaces what FILE named once it is complete), or to
standard output without FILE or with -: one widget object a
line, as GET /api/v1/widgets/{name} returns it, in creation order, in a
form 'widgetapi widget import' reads back. It streams, in constant memory
whatever the number of widgets, walking the list as a cursor does: each
widget that exists throughout the export is written exactly once.
`

// openWidgetStore opens the configured database, migrated.
func openWidgetStore(ctx context.Context, getenv func(string) string) (config.Config, store.Store, error) {
	cfg, st, err := openConfigured(ctx, widgetVars().only(getenv))
	if err != nil {
		return cfg, nil, err
	}
	if _, err := migrateUp(ctx, st); err != nil {
		st.Close()
		return cfg, nil, err
	}
	return cfg, st, nil
}

func runWidgetImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("widget import", widgetImportUsage, widgetVars())
	owner := fs.String("owner", "", "the administrator who owns every imported widget (default: each line's owner.email)")
	// FILE may come before the flags too.
	var file string
	rest := args
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") || len(rest) > 0 && rest[0] == "-" {
		file, rest = rest[0], rest[1:]
	}
	if help, err := parseFlags(fs, rest, stdout, stderr); help || err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 || file == "" {
		return usageError(stderr, "widget import", "give one FILE to read (- for standard input)")
	}
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("widget import: %w", err)
		}
		defer f.Close()
		in = f
	}
	cfg, st, err := openWidgetStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := importWidgets(ctx, st, in, importOptions{Owner: *owner, Now: time.Now, Location: cfg.Location}, stderr)
	if err != nil {
		return fmt.Errorf("widget import: %w", err)
	}
	fmt.Fprintf(stdout, "imported %d widgets from %d lines; %d lines rejected\n", res.Imported, res.Lines, res.Rejected)
	if res.Rejected > 0 {
		return fmt.Errorf("widget import: %d of %d lines rejected", res.Rejected, res.Lines)
	}
	return nil
}

func runWidgetExport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("widget export", widgetExportUsage, widgetVars())
	var file string
	rest := args
	if len(rest) > 0 && (!strings.HasPrefix(rest[0], "-") || rest[0] == "-") {
		file, rest = rest[0], rest[1:]
	}
	if help, err := parseFlags(fs, rest, stdout, stderr); help || err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError(stderr, "widget export", "give at most one FILE to write")
	}
	cfg, st, err := openWidgetStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	out, name := stdout, "standard output"
	var f *replacement
	if file != "" && file != "-" {
		if f, err = newReplacement(file); err != nil {
			return fmt.Errorf("widget export: %w", err)
		}
		defer f.discard()
		out, name = f.File, file
	}
	n, err := exportWidgets(ctx, st, out, time.Now(), cfg.Location)
	if err == nil && f != nil {
		err = f.commit()
	}
	if err != nil {
		return fmt.Errorf("widget export: %w", err)
	}
	fmt.Fprintf(stderr, "exported %d widgets to %s\n", n, name)
	return nil
}

// replacement is a new file that takes the place of path once it is
// complete. It is written beside path under a temporary name, created 0600
// (an export holds emails), then renamed over path: a symbolic link at path
// is replaced rather than followed, a file there does not keep its mode,
// and path is never a partial export.
type replacement struct {
	*os.File
	path string
	done bool
}

func newReplacement(path string) (*replacement, error) {
	// Replacing a directory or a device would be a surprise; a link to
	// one (/dev/stdout) too: standard output is "-".
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file; to write to standard output, give - or no FILE", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &replacement{File: f, path: path}, nil
}

// commit makes the file durable and moves it to its path.
func (r *replacement) commit() error {
	if err := errors.Join(r.Sync(), r.Close()); err != nil {
		return err
	}
	if err := os.Rename(r.Name(), r.path); err != nil {
		return err
	}
	r.done = true
	dir, err := os.Open(filepath.Dir(r.path))
	if err != nil {
		return err
	}
	return errors.Join(dir.Sync(), dir.Close())
}

// discard removes the file unless it was committed.
func (r *replacement) discard() {
	if !r.done {
		r.Close()
		os.Remove(r.Name())
	}
}

// exportBatch is how many widgets one read of an export fetches.
const exportBatch = 1000

// exportWidgets writes every widget of st to w as JSON Lines in creation
// order, as of now in loc, walking the list by keyset in batches.
func exportWidgets(ctx context.Context, st widgetapi.WidgetLister, w io.Writer, now time.Time, loc *time.Location) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	q := widgetapi.WidgetQuery{Sort: widgetapi.SortCreated, Limit: exportBatch}
	var line []byte
	n := 0
	for {
		l, err := st.ListWidgets(ctx, q)
		if err != nil {
			return n, err
		}
		for _, wd := range l.Items {
			line = append(httpapi.AppendWidget(line[:0], wd, now, loc), '\n')
			if _, err := bw.Write(line); err != nil {
				return n, err
			}
			n++
		}
		if !l.More || len(l.Items) == 0 {
			return n, bw.Flush()
		}
		key := widgetapi.KeyOf(l.Items[len(l.Items)-1])
		q.After = &key
	}
}

// importOptions say whom imported widgets belong to, and the clock and
// zone their lines are read with.
type importOptions struct {
	// Owner, when set, is the email of the administrator who owns every
	// widget; otherwise each line's owner.email names one.
	Owner    string
	Now      func() time.Time
	Location *time.Location
}

type importResult struct {
	Lines, Imported, Rejected int
}

// importBatch is how many widgets one bulk create inserts: on SQLite each
// batch is one transaction, one fsync.
const importBatch = 10_000

// maxImportLine bounds one line; a widget object is well under 2 KiB.
const maxImportLine = 1 << 20

// importLine is what an import reads of a line: the fields of the widget
// object it needs.
type importLine struct {
	Name             *string `json:"name"`
	InfoURL          *string `json:"info_url"`
	Deadline         *string `json:"deadline"`
	DeadlineISO8601  *string `json:"deadline_iso8601"`
	CreatedAtISO8601 *string `json:"created_at_iso8601"`
	UpdatedAtISO8601 *string `json:"updated_at_iso8601"`
	Owner            *struct {
		Email *string `json:"email"`
	} `json:"owner"`
}

// importWidgets creates the widgets of the JSON Lines in r, in batches,
// reporting each rejected line on report.
func importWidgets(ctx context.Context, st store.Store, r io.Reader, o importOptions, report io.Writer) (importResult, error) {
	im := &importer{ctx: ctx, st: st, o: o, report: report, owners: map[string]*widgetapi.User{},
		batch: make([]*widgetapi.Widget, 0, importBatch), lines: make([]int, 0, importBatch)}
	if o.Owner != "" {
		u, why, err := im.admin(o.Owner)
		if err != nil {
			return im.res, err
		}
		if u == nil {
			return im.res, fmt.Errorf("--owner: %s", why)
		}
		im.fixed = u
	}
	lr := lineReader{r: bufio.NewReaderSize(r, 64<<10), max: maxImportLine}
	// n is the line's number in the file; blank lines count there, not
	// in res.Lines.
	for n := 1; ; n++ {
		text, long, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return im.res, errors.Join(err, im.flush())
		}
		if long {
			im.res.Lines++
			im.reject(n, fmt.Sprintf("longer than %d bytes", maxImportLine))
			continue
		}
		if err := im.line(n, text); err != nil {
			return im.res, err
		}
	}
	if err := im.flush(); err != nil {
		return im.res, err
	}
	if im.res.Imported > 0 {
		return im.res, st.Analyze(ctx)
	}
	return im.res, nil
}

// lineReader reads the lines of a file, each at most max bytes without
// its end (\n or \r\n).
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// next returns the next line, valid until the following call, or io.EOF
// after the last. A longer line is read to its end but not kept: long
// reports it, and the lines after it are read as usual.
func (lr *lineReader) next() (line []byte, long bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !long {
			if len(lr.buf)+len(bytes.TrimSuffix(bytes.TrimSuffix(chunk, []byte("\n")), []byte("\r"))) > lr.max {
				long, lr.buf = true, lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(chunk) == 0 && len(lr.buf) == 0 && !long:
			return nil, false, io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return nil, false, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(lr.buf, []byte("\n")), []byte("\r"))
		return line, long, nil
	}
}

// importer is one run of widget import: the owners looked up so far, the
// batch being gathered and the tally.
type importer struct {
	ctx    context.Context
	st     store.Store
	o      importOptions
	report io.Writer
	owners map[string]*widgetapi.User // by email; nil for none
	fixed  *widgetapi.User            // --owner, when given
	batch  []*widgetapi.Widget
	lines  []int // the file's line of each widget of batch
	res    importResult
}

// line reads line n of the file: a widget added to the batch, a rejection
// reported, or nothing for a blank line. Only the store's errors stop the
// import.
func (im *importer) line(n int, text []byte) error {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil
	}
	im.res.Lines++
	// encoding/json would store each invalid byte as U+FFFD, changing the
	// text silently; the API refuses such text too.
	if !utf8.Valid(text) {
		im.reject(n, "not valid UTF-8")
		return nil
	}
	var l importLine
	if err := json.Unmarshal(text, &l); err != nil {
		im.reject(n, "not a JSON object: "+jsonProblem(err))
		return nil
	}
	w, why := l.widget(im.o.Now(), im.o.Location)
	if why != "" {
		im.reject(n, why)
		return nil
	}
	owner := im.fixed
	if owner == nil {
		if l.Owner == nil || l.Owner.Email == nil || *l.Owner.Email == "" {
			im.reject(n, "owner.email: missing; name an administrator there or with --owner")
			return nil
		}
		u, why, err := im.admin(*l.Owner.Email)
		if err != nil {
			return err
		}
		if u == nil {
			im.reject(n, "owner.email: "+why)
			return nil
		}
		owner = u
	}
	w.Owner = widgetapi.WidgetOwner{ID: owner.ID, Email: owner.Email, PublicID: owner.PublicID}
	im.batch, im.lines = append(im.batch, w), append(im.lines, n)
	if len(im.batch) == importBatch {
		return im.flush()
	}
	return nil
}

// admin returns the enabled administrator with email, or why there is
// none. The address is checked before it is looked up, as a login's is:
// PostgreSQL refuses a NUL byte in a query, which would stop the import.
func (im *importer) admin(email string) (*widgetapi.User, string, error) {
	if why := widgetapi.ValidateEmail(email); why != "" {
		return nil, why, nil
	}
	email = widgetapi.NormalizeEmail(email)
	u, ok := im.owners[email]
	if !ok {
		var err error
		u, err = im.st.FindUserByEmail(im.ctx, email)
		if widgetapi.ErrorCode(err) == widgetapi.ENOTFOUND {
			u, err = nil, nil
		}
		if err != nil {
			return nil, "", err
		}
		im.owners[email] = u
	}
	switch {
	case u == nil:
		return nil, fmt.Sprintf("no user has the email %s", widgetapi.Echo(email)), nil
	case !u.Admin:
		return nil, fmt.Sprintf("%s is not an administrator", u.Email), nil
	case u.Disabled:
		return nil, fmt.Sprintf("%s is a disabled administrator", u.Email), nil
	}
	return u, "", nil
}

func (im *importer) reject(line int, why string) {
	im.res.Rejected++
	fmt.Fprintf(im.report, "line %d: %s\n", line, why)
}

// flush creates the batch in one transaction; a name already taken is a
// rejection of its line.
func (im *importer) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	inserted, err := im.st.CreateWidgets(im.ctx, im.batch)
	if err != nil {
		return err
	}
	for i, ok := range inserted {
		if ok {
			im.res.Imported++
		} else {
			im.reject(im.lines[i], "name: "+widgetapi.ErrorMessage(widgetapi.WidgetNameTaken(im.batch[i].Name)))
		}
	}
	im.batch, im.lines = im.batch[:0], im.lines[:0]
	return nil
}

// widget checks a line with the API's rules, the deadline's "today or
// later" excepted, and returns its widget, or why it is refused.
func (l importLine) widget(now time.Time, loc *time.Location) (*widgetapi.Widget, string) {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	deadline := str(l.Deadline)
	if l.DeadlineISO8601 != nil {
		// The stored instant: its day is the one it has in loc, which is
		// the day it was exported with when the zones agree.
		if t, err := time.Parse(time.RFC3339, *l.DeadlineISO8601); err == nil {
			deadline = t.In(loc).Format("2006-01-02")
		} else {
			deadline = *l.DeadlineISO8601
		}
	}
	name, dl, err := widgetapi.ValidateWidgetRecord(str(l.Name), str(l.InfoURL), deadline, loc)
	var de *widgetapi.Error
	if errors.As(err, &de) {
		if l.DeadlineISO8601 != nil {
			if why, ok := de.Fields["deadline"]; ok {
				delete(de.Fields, "deadline")
				de.Fields["deadline_iso8601"] = strings.Replace(why, "deadline", "deadline_iso8601", 1)
			}
		}
		return nil, de.FieldProblems()
	}
	created, why := importTime("created_at_iso8601", l.CreatedAtISO8601, now)
	if why != "" {
		return nil, why
	}
	updated, why := importTime("updated_at_iso8601", l.UpdatedAtISO8601, created)
	if why != "" {
		return nil, why
	}
	if updated.Before(created) {
		return nil, "updated_at_iso8601: must not be before created_at_iso8601"
	}
	return &widgetapi.Widget{Name: name, InfoURL: str(l.InfoURL), CreatedAt: created, Deadline: dl, UpdatedAt: updated}, ""
}

// jsonProblem says what is wrong with a line that is not a widget object,
// without repeating the line.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return "a line must be one JSON object"
		}
		return te.Field + " must be a " + map[bool]string{true: "object", false: "string"}[te.Field == "owner"]
	}
	return "malformed JSON"
}

// importTime reads the time field name of a line, def when it is absent,
// to the second.
func importTime(name string, v *string, def time.Time) (time.Time, string) {
	if v == nil {
		return def.UTC().Truncate(time.Second), ""
	}
	t, err := time.Parse(time.RFC3339, *v)
	if err != nil || t.Year() < 1000 || t.Year() > 9999 {
		return time.Time{}, name + ": must be an RFC 3339 time such as 2026-11-28T15:13:02Z"
	}
	return t.UTC().Truncate(time.Second), ""
}
