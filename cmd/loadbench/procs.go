package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// server is a running widgetapi process.
type server struct {
	cmd     *exec.Cmd
	url     string
	peakRSS atomic.Int64
	// pprofURL is where the server serves its profiles, when it does.
	pprofURL string
}

// cpuProfile saves a CPU profile of the server over most of d, the length
// of the load it is started with, to path.
func (s *server) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	secs := max(1, int(d.Seconds())-1)
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%sprofile?seconds=%d", s.pprofURL, secs), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: status %d", res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "  CPU profile of the server: %s\n", path)
	return f.Close()
}

// startServer starts widgetapi serve and waits until it reports where it
// listens (and, with profiles, where it serves them).
func startServer(bin, dir string, env []string, profiles bool) (*server, error) {
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env, cmd.Dir = env, dir
	cmd.Stderr = nil // /dev/null: request logs stay on, at the cost of a write each
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	type addrs struct{ api, pprof string }
	listening := make(chan addrs, 1)
	go func() {
		var a addrs
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), " listening on "); ok {
				a.api = strings.TrimSpace(after)
			}
			if _, after, ok := strings.Cut(sc.Text(), "profiles:"); ok {
				a.pprof = strings.TrimSpace(after)
			}
			if a.api != "" && (a.pprof != "" || !profiles) {
				listening <- a
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		close(listening)
	}()
	select {
	case a, ok := <-listening:
		if ok {
			return &server{cmd: cmd, url: a.api, pprofURL: a.pprof}, nil
		}
		_ = cmd.Wait()
		return nil, fmt.Errorf("widgetapi serve exited before listening")
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("widgetapi serve did not start listening within a minute")
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

func (s *server) sampleRSS(stop chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if rss := rssOf(s.cmd.Process.Pid); rss > s.peakRSS.Load() {
			s.peakRSS.Store(rss)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// rssOf reads a process's resident set size from /proc, in bytes.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ceilingProc is the bare handler, run as a child process of this binary so
// that it is measured like the service.
type ceilingProc struct {
	cmd *exec.Cmd
	url string
}

func startCeiling(bodyFile string) (*ceilingProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-ceiling-server", "127.0.0.1:0", bodyFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("ceiling server: %w", err)
	}
	return &ceilingProc{cmd: cmd, url: "http://" + strings.TrimSpace(line)}, nil
}

func (c *ceilingProc) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

func serveCeiling(addr, bodyFile string) error {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	ln, err := netListen(addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}

func login(base, email string) (string, error) {
	res, err := http.PostForm(base+"/api/v1/auth/login", url.Values{"email": {email}, "password": {benchPassword}})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("login %s: status %d", email, res.StatusCode)
	}
	return body.AccessToken, nil
}

func get(u, token string) ([]byte, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return io.ReadAll(res.Body)
}

func getJSON(u, token string) (map[string]any, error) {
	b, err := get(u, token)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// postForm posts form, with token when set, and returns the JSON body of
// an answer of status want.
func postForm(u, token string, form url.Values, want int) (map[string]any, error) {
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != want {
		return nil, fmt.Errorf("POST %s: status %d, want %d: %v", u, res.StatusCode, want, body)
	}
	return body, nil
}

// widgetTags reads the ETags of the first n widgets.
func widgetTags(base, token string, n int) ([]string, error) {
	tags := make([]string, n)
	for k := range tags {
		req, _ := http.NewRequest("GET", base+"/api/v1/widgets/"+widgetName(k+1), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		res.Body.Close()
		if tags[k] = res.Header.Get("ETag"); res.StatusCode != 200 || tags[k] == "" {
			return nil, fmt.Errorf("GET widget %d: %d, ETag %q", k+1, res.StatusCode, tags[k])
		}
	}
	return tags, nil
}
