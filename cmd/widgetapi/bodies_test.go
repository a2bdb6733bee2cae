package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"widgetapi/httpapi"
)

// procMemory reads a memory figure of process pid (VmRSS, VmHWM) from
// /proc, in bytes.
func procMemory(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, v)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// metricValue is the value of one series of the server's /metrics, 0 when
// the series is absent.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %q", series, v)
			}
			return f
		}
	}
	return 0
}

func bodyReadsSeries(client, state string) string {
	return `widgetapi_http_body_reads{client="` + client + `",state="` + state + `"}`
}

// openHeldBodies opens n connections that each send a POST to path
// announcing a 1 MiB body and then only its first ten bytes, eight from
// each forwarded address.
func openHeldBodies(t *testing.T, addr, path, token string, n int) []net.Conn {
	t.Helper()
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: widgetapi.test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
		path, httpapi.MaxBodyBytes)
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// Eight connections an address, for a server that trusts the
		// test's proxy: the most one address may have read at once.
		req := head + fmt.Sprintf("X-Forwarded-For: 198.18.%d.%d\r\n", i/8/256, i/8%256) + "\r\n" + `{"email":"`
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	return conns
}

// The attack that once took a server to 3.2 GB of RSS: thousands of
// connections that announce a 1 MiB body and send ten bytes of it, held
// open, three times over. Each round holds 2,000 such logins, which need
// no account, and 2,000 password changes, which anyone who registers can
// send. The server must stay within 300 MiB of RSS above its start
// throughout (VmHWM, the kernel's high-water mark), and come back near its
// start once the connections have closed. RSS alone would let memory
// reserved for bodies that never come go unseen (the kernel maps a page
// only once it is written, and memory the runtime has just returned is
// fresh again), so the Go heap in use, which counts every reservation, is
// held to the same bound while the bodies are held.
func TestHeldBodiesCostTheServerLittleMemory(t *testing.T) {
	const (
		conns   = 2000
		rounds  = 3
		maxRise = 300 << 20
		// What a server that has served 4,000 connections at once keeps:
		// database connections, the runtime's goroutine records, heap
		// fragments.
		maxKept = 48 << 20
	)
	eachEngine(t, func(t *testing.T, c *cli) {
		// The attack comes from many addresses, through a trusted proxy.
		c.env = append(c.env, "TRUSTED_PROXIES=127.0.0.0/8")
		s := c.serve()
		code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/register", "", creds("holder@example.com", "password1"))
		if code != http.StatusCreated {
			t.Fatalf("register: %d %v", code, body)
		}
		token := body["access_token"].(string)
		addr, pid := strings.TrimPrefix(s.URL, "http://"), s.Cmd.Process.Pid
		awaitReads := func(anonymous, authenticated float64, refused float64) {
			t.Helper()
			waitFor(t, 2*time.Minute, "the server to read every held body", func() bool {
				return metricValue(t, s.URL, bodyReadsSeries("anonymous", "reading")) == anonymous &&
					metricValue(t, s.URL, bodyReadsSeries("anonymous", "waiting")) == 0 &&
					metricValue(t, s.URL, bodyReadsSeries("authenticated", "reading")) == authenticated &&
					metricValue(t, s.URL, `widgetapi_http_requests_total{method="POST",route="POST /api/v1/auth/login",status="503"}`) == refused
			})
		}
		start := procMemory(t, pid, "VmRSS")
		for round := 1; round <= rounds; round++ {
			held := append(openHeldBodies(t, addr, "/api/v1/auth/login", "", conns),
				openHeldBodies(t, addr, "/api/v1/auth/password", token, conns)...)
			// The anonymous logins past the bound are refused after a
			// short wait; the others hold their reads.
			awaitReads(httpapi.MaxAnonymousBodyReads, conns, float64(round*(conns-httpapi.MaxAnonymousBodyReads)))
			heap := metricValue(t, s.URL, "go_memstats_heap_inuse_bytes")
			t.Logf("round %d: %d connections held, RSS %d MiB, heap in use %.0f MiB", round, len(held),
				procMemory(t, pid, "VmRSS")>>20, heap/(1<<20))
			if heap > maxRise {
				t.Errorf("round %d: %.0f MiB of heap in use; at most %d MiB", round, heap/(1<<20), maxRise>>20)
			}
			for _, c := range held {
				c.Close()
			}
			awaitReads(0, 0, float64(round*(conns-httpapi.MaxAnonymousBodyReads)))
		}
		peak := procMemory(t, pid, "VmHWM")
		t.Logf("RSS at the start %d MiB, at the peak %d MiB", start>>20, peak>>20)
		if peak-start > maxRise {
			t.Errorf("RSS rose by %d MiB; at most %d MiB", (peak-start)>>20, maxRise>>20)
		}
		// The server gives the memory back once the surge is over, rather
		// than after the minutes the runtime would take on its own.
		waitFor(t, time.Minute, "the end of the surge to be logged", func() bool {
			return strings.Contains(s.Stderr.String(), "connection surge over: memory returned")
		})
		waitFor(t, time.Minute, "RSS to come back near its start", func() bool {
			return procMemory(t, pid, "VmRSS")-start <= maxKept
		})
		t.Logf("RSS once the connections closed: %d MiB", procMemory(t, pid, "VmRSS")>>20)
	})
}

// A body that stalls past the server's read timeout (15 s) gets a JSON 408
// and the connection is closed, never the 499 the server once sent to
// such a client, still connected and waiting, with the timeouts serve
// runs with: the write timeout leaves the 408 time to go out.
func TestAStalledUploadIsAnswered408(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		s := c.serve()
		code, body, _ := call(t, "POST", s.URL+"/api/v1/auth/register", "", creds("stall@example.com", "password1"))
		if code != http.StatusCreated {
			t.Fatalf("register: %d %v", code, body)
		}
		addr := strings.TrimPrefix(s.URL, "http://")
		held := append(openHeldBodies(t, addr, "/api/v1/auth/login", "", 3),
			openHeldBodies(t, addr, "/api/v1/auth/password", body["access_token"].(string), 3)...)
		var wg sync.WaitGroup
		for _, conn := range held {
			wg.Go(func() {
				_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
				br := bufio.NewReader(conn)
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(res.Body)
				var m map[string]any
				if res.StatusCode != http.StatusRequestTimeout || !res.Close || json.Unmarshal(b, &m) != nil || m["message"] == nil {
					t.Errorf("a stalled upload: %s, Connection %q, %s", res.Status, res.Header.Get("Connection"), b)
				}
				if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Errorf("the connection stayed open after the 408: %d, %v", n, err)
				}
			})
		}
		wg.Wait()
	})
}
