package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"widgetapi/httpapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
)

// rawRequest is the text of a POST to path with a body of contentType that
// announces a MaxBodyBytes body and holds only its first bytes, body.
func rawRequest(path, token, contentType, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: widgetapi.test\r\nContent-Type: %s\r\nContent-Length: %d\r\n",
		path, contentType, httpapi.MaxBodyBytes)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	return b.String() + "\r\n" + body
}

// A body that stalls past the server's read timeout is answered 408 with
// the JSON error body, and the connection is closed; the server once
// answered "HTTP/1.1 499" to such a client, which was still there waiting.
// Fifty connections at once, on anonymous and authenticated routes, in
// every body format.
func TestAStalledBodyIsAnswered408(t *testing.T) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("email", "stall@example.com")
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		logs := &testlog.Buffer{}
		e := newEnv(t, engine, func(o *envOptions) { o.logs = logs })
		token := e.register("stall@example.com", "password1")
		// The API as serve runs it, with a read timeout short enough to
		// wait for.
		srv := httptest.NewUnstartedServer(e.api)
		srv.Config.ReadTimeout = 500 * time.Millisecond
		srv.Config.WriteTimeout = time.Minute
		srv.Start()
		t.Cleanup(srv.Close)

		stalls := []string{
			rawRequest("/api/v1/auth/login", "", "application/json", `{"email":"stall@exa`),
			rawRequest("/api/v1/auth/login", "", "application/x-www-form-urlencoded", "email=stall%40exa"),
			rawRequest("/api/v1/auth/register", "", mw.FormDataContentType(), mp.String()),
			rawRequest("/api/v1/auth/password", token, "application/json", `{"current_password":"pass`),
			rawRequest("/api/v1/auth/logout", token, "application/x-www-form-urlencoded", "scope=glo"),
		}
		const conns = 50
		var wg sync.WaitGroup
		for i := range conns {
			wg.Go(func() {
				if err := stallAndRead(srv.Listener.Addr().String(), stalls[i%len(stalls)]); err != nil {
					t.Errorf("%.60q: %v", stalls[i%len(stalls)], err)
				}
			})
		}
		wg.Wait()
		if logged := requestLines(logs.Lines(t), http.StatusRequestTimeout); logged != conns {
			t.Errorf("%d requests logged with status 408, want %d", logged, conns)
		}
	})
}

// stallAndRead sends req over a new connection, sends nothing more, and
// checks the answer: 408, JSON, Connection: close, and then the end of the
// connection.
func stallAndRead(addr, req string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var msg struct{ Message string }
	if res.StatusCode != http.StatusRequestTimeout || !res.Close ||
		json.Unmarshal(body, &msg) != nil || msg.Message != "The request body did not arrive in time." {
		return fmt.Errorf("answered %s, Connection %q: %s", res.Status, res.Header.Get("Connection"), body)
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return fmt.Errorf("the connection stayed open after the 408: %d, %v", n, err)
	}
	return nil
}

// A client that half-closes its connection after sending a request may
// still be reading: the server sees the end of what it sends, and the
// request is canceled, but its answer is no 499 on the wire. The
// connection is closed without one, and the log and the metrics record
// 499. Twenty logins waiting for a bcrypt slot at once.
func TestAClientThatHalfClosesNeverReads499(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e, g, logs := heldGate(t, engine, 100, "halfclose@example.com")

		const conns = 20
		body := "email=halfclose%40example.com&password=password1"
		req := fmt.Sprintf("POST /api/v1/auth/login HTTP/1.1\r\nHost: widgetapi.test\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		var opened []*net.TCPConn
		for range conns {
			c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			opened = append(opened, c.(*net.TCPConn))
		}
		awaitGate(t, g, conns)
		var wg sync.WaitGroup
		for _, c := range opened {
			wg.Go(func() {
				if err := c.CloseWrite(); err != nil {
					t.Error(err)
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Minute))
				got, err := io.ReadAll(c)
				if err != nil || len(got) != 0 {
					t.Errorf("a half-closed client read %q (%v), want the connection closed without an answer", got, err)
				}
			})
		}
		wg.Wait()
		awaitGate(t, g, 0)
		if logged := requestLines(logs.Lines(t), httpapi.StatusClientClosedRequest); logged != conns {
			t.Errorf("%d requests logged with status 499, want %d", logged, conns)
		}
		metrics := string(e.do(request{Method: "GET", Path: "/metrics"}).Body)
		if want := fmt.Sprintf(`widgetapi_http_requests_total{method="POST",route="POST /api/v1/auth/login",status="499"} %d`, conns); !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	})
}
