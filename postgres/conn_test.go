package postgres

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func TestRowReadsBinaryColumnsByName(t *testing.T) {
	id := []byte{0x8b, 0x6f, 0x1a, 0x52, 0x3c, 0x57, 0x4b, 0xd0, 0x9a, 0x6a, 0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a}
	// 2026-11-28 15:13:02.5 UTC in microseconds since 2000-01-01.
	at := time.Date(2026, 11, 28, 15, 13, 2, 500_000_000, time.UTC)
	d := row{cols: map[string]int{"id": 0, "email": 1, "at": 2, "admin": 3, "uuid": 4, "revoked": 5, "gone": 6},
		values: [][]byte{be64(42), []byte("a@b.io"), be64(at.UnixMicro() - pgEpochMicros), {1}, id, {0}, nil}}
	var got struct {
		id      int64
		email   string
		at      time.Time
		admin   bool
		uuid    string
		revoked bool
	}
	got.id, got.email, got.at, got.admin, got.uuid, got.revoked = d.Int("id"), d.Text("email"), d.Time("at"), d.Bool("admin"), d.UUID("uuid"), d.Bool("revoked")
	if d.err != nil {
		t.Fatal(d.err)
	}
	if got.id != 42 || got.email != "a@b.io" || !got.at.Equal(at) || got.at.Location() != time.UTC ||
		!got.admin || got.uuid != "8b6f1a52-3c57-4bd0-9a6a-1f2e3d4c5b6a" || got.revoked {
		t.Fatalf("decoded %+v", got)
	}
	if !d.Null("gone") || d.Null("id") {
		t.Fatal("null() is wrong")
	}
}

// A row that does not match the statement is an error, never a panic.
func TestRowRefusesMalformedColumns(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  [][]byte
		read func(*row)
		want string
	}{
		{"short int8", [][]byte{{1, 2, 3}}, func(d *row) { d.Int("c") }, "holds 3 bytes, want 8"},
		{"long bool", [][]byte{{1, 0}}, func(d *row) { d.Bool("c") }, "holds 2 bytes, want 1"},
		{"short uuid", [][]byte{make([]byte, 15)}, func(d *row) { d.UUID("c") }, "want 16"},
		{"fewer values than columns", [][]byte{}, func(d *row) { d.Text("c") }, "want at least 1"},
		{"a name the statement lacks", [][]byte{{1}}, func(d *row) { d.Bool("other") }, "no result column other"},
		{"NULL where a value must be", [][]byte{nil}, func(d *row) { d.Int("c") }, "is NULL"},
		{"infinite timestamp", [][]byte{be64(1<<63 - 1)}, func(d *row) { d.Time("c") }, "infinite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := row{cols: map[string]int{"c": 0}, values: tc.row}
			tc.read(&d)
			if d.err == nil || !strings.Contains(d.err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", d.err, tc.want)
			}
		})
	}
}
