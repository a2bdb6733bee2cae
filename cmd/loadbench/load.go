package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// attack runs one closed-loop load of o.duration, cut short when ctx ends;
// while it runs, the RSS of srv (when given) is sampled.
func attack(ctx context.Context, t vegeta.Targeter, o options, srv *server) vegeta.Metrics {
	return *attackByKind(ctx, t, o, srv)[""]
}

// attackByKind is attack, its results measured apart by the kind of
// address each request was for (resultKind; "" for a scenario that does
// not tell kinds apart).
func attackByKind(ctx context.Context, t vegeta.Targeter, o options, srv *server) map[string]*vegeta.Metrics {
	a := vegeta.NewAttacker(vegeta.Workers(uint64(o.workers)), vegeta.MaxWorkers(uint64(o.workers)),
		vegeta.Connections(o.workers), vegeta.MaxConnections(o.workers), vegeta.KeepAlive(true),
		vegeta.Timeout(30*time.Second))
	stop := make(chan struct{})
	if srv != nil {
		go srv.sampleRSS(stop)
	}
	defer context.AfterFunc(ctx, func() { a.Stop() })()
	ms := map[string]*vegeta.Metrics{"": {}}
	for res := range a.Attack(t, vegeta.Rate{Freq: 0}, o.duration, "load") {
		kind := resultKind(res)
		if ms[kind] == nil {
			ms[kind] = &vegeta.Metrics{}
		}
		ms[kind].Add(res)
	}
	close(stop)
	for kind, m := range ms {
		if kind != "" && m.Requests == 0 {
			delete(ms, kind)
			continue
		}
		m.Close()
	}
	if len(ms) > 1 && ms[""].Requests == 0 {
		delete(ms, "")
	}
	return ms
}

func static(method, u, token string, body []byte) vegeta.Targeter {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return vegeta.NewStaticTargeter(vegeta.Target{Method: method, URL: u, Header: h, Body: body})
}

func cycling(base, token string, n int) vegeta.Targeter {
	var i atomic.Int64
	h := http.Header{"Authorization": {"Bearer " + token}}
	return func(t *vegeta.Target) error {
		*t = vegeta.Target{Method: "GET", URL: base + "/api/v1/widgets/" + widgetName(int(i.Add(1))%n+1), Header: h}
		return nil
	}
}

// revalidating GETs the widgets cycling does, each with If-None-Match set
// to its current ETag.
func revalidating(base, token string, etags []string) vegeta.Targeter {
	var i atomic.Int64
	headers := make([]http.Header, len(etags))
	for k, tag := range etags {
		headers[k] = http.Header{"Authorization": {"Bearer " + token}, "If-None-Match": {tag}}
	}
	return func(t *vegeta.Target) error {
		k := int(i.Add(1)) % len(etags)
		*t = vegeta.Target{Method: "GET", URL: base + "/api/v1/widgets/" + widgetName(k+1), Header: headers[k]}
		return nil
	}
}

func creating(base, token string, n *atomic.Int64) vegeta.Targeter {
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/x-www-form-urlencoded"}}
	return func(t *vegeta.Target) error {
		body := url.Values{"name": {fmt.Sprintf("bench-new-%d", n.Add(1))},
			"info_url": {"https://example.com/new"}, "deadline": {"2099-12-31"}}.Encode()
		*t = vegeta.Target{Method: "POST", URL: base + "/api/v1/widgets", Header: h, Body: []byte(body)}
		return nil
	}
}

// unknownLogins logs in with a new unknown email each time: every one
// costs a bcrypt comparison (against the dummy hash) and answers 401.
func unknownLogins(base string) vegeta.Targeter {
	var i atomic.Int64
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return func(t *vegeta.Target) error {
		body := url.Values{"email": {fmt.Sprintf("nobody-%d@bench.local", i.Add(1))}, "password": {"not-the-password"}}.Encode()
		*t = vegeta.Target{Method: "POST", URL: base + "/api/v1/auth/login", Header: h, Body: []byte(body)}
		return nil
	}
}

// introspecting asks about token as the bench's introspection client.
func introspecting(base, token string) vegeta.Targeter {
	id, secret, _ := strings.Cut(introspectionClient, ":")
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
		"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}}
	return vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: base + "/api/v1/auth/introspect", Header: h,
		Body: []byte(url.Values{"token": {token}}.Encode())})
}

func widgetName(i int) string { return fmt.Sprintf("w%07d", i) }
