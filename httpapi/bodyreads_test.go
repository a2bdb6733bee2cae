package httpapi_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"widgetapi/httpapi"
	"widgetapi/internal/testdb"
)

// holdBody opens a connection and sends a POST to path that announces a
// body of MaxBodyBytes, and then only its first sent bytes: the server
// waits for the rest until the connection closes, which the test's end
// does if the test has not. The request says it was forwarded for from,
// when set.
func (e *env) holdBody(path, token string, sent int, from string) net.Conn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	body := `{"email":"` + strings.Repeat("a", max(sent, 10)-10)
	req := rawRequest(path, token, "application/json", body[:sent])
	if from != "" {
		head, body, _ := strings.Cut(req, "\r\n\r\n")
		req = head + "\r\nX-Forwarded-For: " + from + "\r\n\r\n" + body
	}
	if _, err := io.WriteString(c, req); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// bodyReads is what /metrics says of the bodies being read, and of the
// requests in flight besides the one asking.
type bodyReads struct{ anonymous, waiting, authenticated, inFlight int }

func (e *env) bodyReads() bodyReads {
	e.t.Helper()
	metrics := string(e.do(request{Method: "GET", Path: "/metrics"}).Body)
	value := func(series string) int {
		i := strings.Index(metrics, "\n"+series) + 1
		if i == 0 {
			e.t.Fatalf("metrics lack %s", series)
		}
		line, _, _ := strings.Cut(metrics[i+len(series):], "\n")
		n, err := strconv.Atoi(line)
		if err != nil {
			e.t.Fatalf("%s%s: %v", series, line, err)
		}
		return n
	}
	reads := func(client, state string) int {
		return value(`widgetapi_http_body_reads{client="` + client + `",state="` + state + `"} `)
	}
	return bodyReads{reads("anonymous", "reading"), reads("anonymous", "waiting"), reads("authenticated", "reading"),
		value("widgetapi_http_requests_in_flight ") - 1}
}

// awaitBodyReads waits until the server reads (and holds) the bodies want
// says; it watches the server's own count, which the connections change.
func (e *env) awaitBodyReads(want bodyReads) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for got := e.bodyReads(); got != want; got = e.bodyReads() {
		if time.Now().After(deadline) {
			e.t.Fatalf("body reads: %+v, want %+v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spread is the i-th of many client addresses, each given to
// MaxAnonymousBodyReadsPerAddress connections in turn: with a trusted
// proxy (trustLocalProxy), enough of them take every anonymous read.
func spread(i int) string {
	i /= httpapi.MaxAnonymousBodyReadsPerAddress
	return fmt.Sprintf("198.18.%d.%d", i/256, i%256)
}

// trustLocalProxy makes the test's client a trusted proxy, so that the
// X-Forwarded-For of its requests says whom they are from.
func trustLocalProxy(t testing.TB) func(*envOptions) {
	return func(o *envOptions) { o.cfg.TrustedProxies = prefixes(t, "127.0.0.0/8") }
}

// heapInUse is the live heap after two full collections: what sync.Pools
// hold is let go over two.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A body costs the server memory for the bytes its client has sent, not
// for the Content-Length it announced: connections that announce 1 MiB and
// send ten bytes once held a mebibyte each (1,000 of them, 1 GB of heap).
// Anonymous clients (login) as many as may be read at once, and clients
// with a token, which are not bounded, hold their bodies open; the heap may
// grow by connHeap for each connection and twice what it sent (a buffer is
// doubled when full), and comes back once they close.
func TestHeldBodiesCostWhatTheirClientsSent(t *testing.T) {
	const (
		authenticated = 400
		connHeap      = 48 << 10
	)
	anonymous := httpapi.MaxAnonymousBodyReads
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, trustLocalProxy(t))
		token := e.register("holder@example.com", "password1")
		// hold holds a body of each kind open on every connection, and
		// returns the connections once the server is reading all of them.
		hold := func(sent int) []net.Conn {
			var conns []net.Conn
			for i := range anonymous {
				conns = append(conns, e.holdBody("/api/v1/auth/login", "", sent, spread(i)))
			}
			for range authenticated {
				conns = append(conns, e.holdBody("/api/v1/auth/password", token, sent, ""))
			}
			e.awaitBodyReads(bodyReads{anonymous: anonymous, authenticated: authenticated, inFlight: len(conns)})
			return conns
		}
		closeAll := func(conns []net.Conn) {
			for _, c := range conns {
				c.Close()
			}
			e.awaitBodyReads(bodyReads{})
		}
		// What the server keeps once it has served that many requests at
		// once (database connections, the runtime's goroutine records)
		// is not what this test is about.
		closeAll(hold(10))
		for _, sent := range []int{10, 40 << 10} {
			t.Run(fmt.Sprintf("%d bytes sent", sent), func(t *testing.T) {
				before := heapInUse()
				conns := hold(sent)
				held := heapInUse()
				perConn := (int64(held) - int64(before)) / int64(len(conns))
				t.Logf("%d connections holding %d bytes each: the heap grew from %.1f to %.1f MiB, %d bytes a connection",
					len(conns), sent, float64(before)/(1<<20), float64(held)/(1<<20), perConn)
				if limit := int64(connHeap + 2*sent); perConn > limit {
					t.Errorf("%d bytes of heap a connection that sent %d bytes; at most %d", perConn, sent, limit)
				}
				closeAll(conns)
				after := heapInUse()
				t.Logf("after they closed: %.1f MiB", float64(after)/(1<<20))
				if after > before+4<<20 {
					t.Errorf("the heap stayed at %.1f MiB after the connections closed, from %.1f MiB",
						float64(after)/(1<<20), float64(before)/(1<<20))
				}
			})
		}
	})
}

// Anonymous bodies are read MaxAnonymousBodyReads at a time. With that many
// held open by clients that stall, from enough addresses, other anonymous requests wait
// AnonymousBodyWait and get 503 with Retry-After, while requests with a
// token, bodies and all, are served as if nothing were happening; once the
// stalled clients go, logins are read again.
func TestAnonymousBodyReadsAreBounded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, trustLocalProxy(t))
		e.register("someone@example.com", "password1")
		admin := e.admin("bounded-admin@example.com")
		var stalled []net.Conn
		for i := range httpapi.MaxAnonymousBodyReads {
			stalled = append(stalled, e.holdBody("/api/v1/auth/login", "", 10, spread(i)))
		}
		e.awaitBodyReads(bodyReads{anonymous: httpapi.MaxAnonymousBodyReads, inFlight: httpapi.MaxAnonymousBodyReads})

		login := request{Method: "POST", Path: "/api/v1/auth/login",
			Form: url.Values{"email": {"someone@example.com"}, "password": {"password1"}}}
		var reqs []request
		for i := range 100 {
			reqs = append(reqs, login)
			if i%2 == 0 {
				reqs = append(reqs, request{Method: "POST", Path: "/api/v1/widgets", Token: admin,
					Form: widgetForm(fmt.Sprintf("bounded-%d", i), "https://example.com", "2099-12-31")})
			}
		}
		res := e.concurrently(reqs)
		refused, created := 0, 0
		for i, r := range res {
			switch reqs[i].Token {
			case "":
				if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" ||
					!strings.Contains(r.JSON(t)["message"].(string), "busy") {
					t.Fatalf("an anonymous login past the bound: %d %v %s", r.Status, r.Header, r.Body)
				}
				refused++
			default:
				if r.Status != http.StatusCreated {
					t.Fatalf("a widget created with a token during the flood: %d %s", r.Status, r.Body)
				}
				created++
			}
		}
		t.Logf("%d anonymous logins refused, %d widgets created meanwhile", refused, created)
		if got := e.bodyReads(); got.anonymous != httpapi.MaxAnonymousBodyReads || got.waiting != 0 {
			t.Fatalf("the stalled bodies lost their reads: %+v", got)
		}

		for _, c := range stalled {
			c.Close()
		}
		e.awaitBodyReads(bodyReads{})
		if r := e.do(login); r.Status != http.StatusOK {
			t.Fatalf("a login once the stalled clients left: %d %s", r.Status, r.Body)
		}
	})
}

// One address may hold MaxAnonymousBodyReadsPerAddress anonymous reads: a
// client that stalls a hundred logins, as 64 from one address once held
// every read of the server, gets that many read and the others refused,
// while every other client logs in at once. IPv6 clients count by /64.
func TestOneAddressCannotHoldEveryAnonymousRead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e := newEnv(t, engine, trustLocalProxy(t))
		e.register("someone@example.com", "password1")
		per := httpapi.MaxAnonymousBodyReadsPerAddress
		login := func(from string) request {
			return request{Method: "POST", Path: "/api/v1/auth/login", Header: map[string]string{"X-Forwarded-For": from},
				Form: url.Values{"email": {"someone@example.com"}, "password": {"password1"}}}
		}
		for _, attacker := range []struct{ name, from, neighbour, other string }{
			{"IPv4", "203.0.113.7", "203.0.113.8", "127.0.0.1"},
			{"IPv6", "2001:db8:1::1", "2001:db8:1::ffff", "2001:db8:2::1"},
		} {
			t.Run(attacker.name, func(t *testing.T) {
				var stalled []net.Conn
				for range 100 {
					stalled = append(stalled, e.holdBody("/api/v1/auth/login", "", 10, attacker.from))
				}
				// Once the waits of those past the bound have ended.
				e.awaitBodyReads(bodyReads{anonymous: per, inFlight: per})
				if r := e.do(login(attacker.from)); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
					t.Fatalf("another login from the stalling address: %d %s", r.Status, r.Body)
				}
				var reqs []request
				for i := range 20 {
					reqs = append(reqs, login(fmt.Sprintf("%s, %s", "192.0.2.99", []string{attacker.neighbour, attacker.other}[i%2])))
				}
				for i, r := range e.concurrently(reqs) {
					want := http.StatusOK
					if i%2 == 0 && attacker.name == "IPv6" {
						// The neighbour in the same /64 is the same client.
						want = http.StatusServiceUnavailable
					}
					if r.Status != want {
						t.Fatalf("login %d from %s while %s stalls %d logins: %d %s, want %d",
							i, reqs[i].Header["X-Forwarded-For"], attacker.from, len(stalled), r.Status, r.Body, want)
					}
				}
				for _, c := range stalled {
					c.Close()
				}
				e.awaitBodyReads(bodyReads{})
				if r := e.do(login(attacker.from)); r.Status != http.StatusOK {
					t.Fatalf("a login from the address once its stalls are gone: %d %s", r.Status, r.Body)
				}
			})
		}
	})
}
