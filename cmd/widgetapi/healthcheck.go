package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"widgetapi/internal/config"
)

const healthcheckUsage = `Usage: widgetapi healthcheck [--addr ADDR] [--timeout 2s]

Exits 0 when GET /healthz at the service's address answers 200, and non-zero
with one line otherwise. The address is the one serve listens on (ADDR); a
listen address on every interface, such as 0.0.0.0:5000 or :5000, is probed
on 127.0.0.1. Meant for a container's HEALTHCHECK, since the image has no
shell or curl.
`

func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	env := vars{"ADDR"}
	config.AddFlags(fs, env...)
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), healthcheckUsage+"\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), env.help())
	}
	if help, err := parseFlags(fs, args, stdout, stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "healthcheck", "unexpected argument %q", fs.Arg(0))
	}
	cfg, err := config.Load(config.WithFlags(fs, env.only(getenv)))
	if err != nil {
		return err
	}
	target, err := probeAddr(cfg.Addr)
	if err != nil {
		return err
	}
	probe := "http://" + target + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// No proxy from the environment: the probe is of this machine.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	res, err := client.Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("healthcheck: GET %s: no answer within %s", probe, *timeout)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if err != nil {
		return fmt.Errorf("healthcheck: GET %s: %w", probe, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %s", probe, res.Status)
	}
	_, err = fmt.Fprintf(stdout, "ok: GET %s answered %s\n", probe, res.Status)
	return err
}

// probeAddr turns a listen address into one to connect to: a listener on
// every interface is reached on the loopback address.
func probeAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("healthcheck: ADDR %q is not host:port with a fixed port", listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}
