package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// hostileBodies are bodies of about MaxBodyBytes built to make a decoder
// spend memory: many small fields, or one field as large as the cap.
func hostileBodies(t testing.TB) map[string]struct {
	contentType string
	body        []byte
} {
	out := map[string]struct {
		contentType string
		body        []byte
	}{}
	add := func(name, ct string, b []byte) {
		if len(b) > MaxBodyBytes {
			t.Fatalf("%s: %d bytes, over the cap", name, len(b))
		}
		out[name] = struct {
			contentType string
			body        []byte
		}{ct, b}
	}

	var js bytes.Buffer
	js.WriteString("{")
	for i := 0; js.Len() < MaxBodyBytes-32; i++ {
		fmt.Fprintf(&js, `"%d":0,`, i)
	}
	js.WriteString(`"email":"a@b.io"}`)
	add("JSON, 100,000 keys", "application/json", js.Bytes())
	add("JSON, one huge known field", "application/json", []byte(`{"email":"`+strings.Repeat("a", MaxBodyBytes-20)+`"}`))
	add("JSON, one huge unknown field", "application/json", []byte(`{"x":"`+strings.Repeat("a", MaxBodyBytes-20)+`"}`))
	add("JSON, a huge nested unknown value", "application/json", []byte(`{"x":[`+strings.Repeat(`{"a":1},`, MaxBodyBytes/8-4)+`1]}`))

	var form bytes.Buffer
	for i := 0; form.Len() < MaxBodyBytes-16; i++ {
		fmt.Fprintf(&form, "k%d=&", i)
	}
	form.WriteString("email=a")
	add("form, 130,000 pairs", "application/x-www-form-urlencoded", form.Bytes())
	add("form, one huge value", "application/x-www-form-urlencoded", []byte("email="+strings.Repeat("a", MaxBodyBytes-10)))

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for i := 0; mp.Len() < MaxBodyBytes-4096; i++ {
		_ = mw.WriteField(fmt.Sprint("k", i), "")
	}
	_ = mw.Close()
	add("multipart, thousands of parts", mw.FormDataContentType(), mp.Bytes())
	var mp2 bytes.Buffer
	mw2 := multipart.NewWriter(&mp2)
	_ = mw2.WriteField("email", strings.Repeat("a", MaxBodyBytes-512))
	_ = mw2.Close()
	add("multipart, one huge part", mw2.FormDataContentType(), mp2.Bytes())
	return out
}

// Decoding a body costs memory in proportion to the body cap, never to the
// number of fields in it: 96 bodies of 95,000 keys each once took the
// process from 109 to 987 MiB. The body is read into a pooled buffer, so
// once the pools hold buffers of its size what a decode allocates is the
// decoder's own cost, which must stay a small part of the body whatever the
// body's shape.
func TestDecodingMemoryIsProportionalToTheBodyCap(t *testing.T) {
	if raceDetector {
		t.Skip("allocations are the race detector's under -race; the plain test run measures them")
	}
	const limit = MaxBodyBytes / 4
	for name, hb := range hostileBodies(t) {
		t.Run(name, func(t *testing.T) {
			decode := func() {
				r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(hb.body))
				r.Header.Set("Content-Type", hb.contentType)
				_, _, _ = decodeFields(httptest.NewRecorder(), r, "email", "password")
			}
			decode() // fills the pools
			runtime.GC()
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			// A pool is a cache, not a promise: a decode on another
			// processor than the one a buffer went back on reads into a
			// new buffer. The least any of several decodes allocated is
			// the decoder's own cost.
			least := uint64(math.MaxUint64)
			for range 10 {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				decode()
				runtime.ReadMemStats(&after)
				least = min(least, after.TotalAlloc-before.TotalAlloc)
			}
			t.Logf("%-36s %8d bytes allocated to decode %d bytes", name, least, len(hb.body))
			if least > limit {
				t.Fatalf("decoding allocated %d bytes besides the body's buffer; at most %d (a quarter of the body cap)", least, limit)
			}
		})
	}
}

// FuzzEachJSONField checks the object walk against encoding/json's own
// streaming decoder: for every valid JSON object, the same members in the
// same order, each value the same JSON text.
func FuzzEachJSONField(f *testing.F) {
	for _, seed := range []string{
		`{}`, ` { "a" : 1 , "b":[1,{"c":"]}"}], "d\\"":"x\\\\","e":null} `,
		`{"email":"a@b.io","password":"p\u00e9\"q"}`, `{"a":{"b":{"c":[[],{}]}},"z":-1.5e3}`,
		`{"":true,"":false}`, "{\t\"k\"\n:\r\"v\"}", `[1]`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || b[skipSpace(b, 0)] != '{' {
			return
		}
		type member struct{ key, value string }
		var want []member
		dec := json.NewDecoder(bytes.NewReader(b))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			want = append(want, member{k.(string), string(v)})
		}
		var got []member
		if err := eachJSONField(b, func(rawKey, raw []byte) error {
			var k string
			if err := json.Unmarshal(rawKey, &k); err != nil {
				return err
			}
			got = append(got, member{k, string(raw)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d members, want %d: %q vs %q", len(got), len(want), got, want)
		}
		for i := range want {
			var a, b bytes.Buffer
			_ = json.Compact(&a, []byte(got[i].value))
			_ = json.Compact(&b, []byte(want[i].value))
			if got[i].key != want[i].key || a.String() != b.String() {
				t.Fatalf("member %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// BenchmarkDecodeBody decodes a login's body as a handler does: a small
// JSON object and a small form, as nearly every request sends them, and a
// body of 64 KiB.
func BenchmarkDecodeBody(b *testing.B) {
	for _, bc := range []struct{ name, contentType, body string }{
		{"json login", "application/json", `{"email":"someone@example.com","password":"correct horse battery"}`},
		{"form login", "application/x-www-form-urlencoded", "email=someone%40example.com&password=correct+horse+battery"},
		{"json 64 KiB", "application/json", `{"email":"someone@example.com","bio":"` + strings.Repeat("b", 64<<10) + `"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(bc.body))
				r.Header.Set("Content-Type", bc.contentType)
				if _, _, err := decodeFields(httptest.NewRecorder(), r, "email", "password"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
