package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// creates measures widget creates from several serve processes sharing one
// PostgreSQL database: o.creatorProcs servers, o.creatorWorkers goroutines
// each, every goroutine POSTing new widgets one after another for
// o.duration, o.rounds times. It reports creates/s per round, and checks
// that the listed total is exactly the number of 201s.
func creates(ctx context.Context, work, bin string, o options) (string, error) {
	dir, err := os.MkdirTemp(work, "creates-")
	if err != nil {
		return "", err
	}
	db, err := prepareDatabase(ctx, dir, bin, "postgres", 0, o)
	if err != nil {
		return "", err
	}
	defer db.drop()
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	var tokens []string
	for range o.creatorProcs {
		s, err := startServer(bin, dir, db.env, false)
		if err != nil {
			return "", err
		}
		servers = append(servers, s)
		tok, err := login(s.url, adminEmail)
		if err != nil {
			return "", err
		}
		tokens = append(tokens, tok)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.creatorWorkers * o.creatorProcs}}
	var b strings.Builder
	fmt.Fprintf(&b, "### Widget creates from %d processes on one PostgreSQL\n\n", o.creatorProcs)
	fmt.Fprintf(&b, "%d goroutines a process, each POSTing one widget after another, %s a round.\n\n", o.creatorWorkers, o.duration)
	fmt.Fprintln(&b, "| round | creates/s | 201 | other statuses | listed total |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|")
	var seq, created atomic.Int64
	for round := range o.rounds {
		var ok, failed atomic.Int64
		var wg sync.WaitGroup
		rctx, cancel := context.WithTimeout(ctx, o.duration)
		start := time.Now()
		for p, s := range servers {
			for range o.creatorWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for rctx.Err() == nil {
						form := url.Values{"name": {fmt.Sprintf("multi-%d", seq.Add(1))},
							"info_url": {"https://example.com/new"}, "deadline": {"2099-12-31"}}
						req, _ := http.NewRequestWithContext(ctx, "POST", s.url+"/api/v1/widgets", strings.NewReader(form.Encode()))
						req.Header.Set("Authorization", "Bearer "+tokens[p])
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						res, err := client.Do(req)
						if err != nil {
							failed.Add(1)
							continue
						}
						res.Body.Close()
						if res.StatusCode == http.StatusCreated {
							ok.Add(1)
						} else {
							failed.Add(1)
						}
					}
				}()
			}
		}
		wg.Wait()
		cancel()
		elapsed := time.Since(start)
		created.Add(ok.Load())
		var total float64
		body, err := getJSON(servers[0].url+"/api/v1/widgets?per_page=5", tokens[0])
		if err != nil {
			return "", err
		}
		total, _ = body["total_items"].(float64)
		fmt.Fprintf(&b, "| %d | %.0f | %d | %d | %.0f |\n", round+1, float64(ok.Load())/elapsed.Seconds(), ok.Load(), failed.Load(), total)
		fmt.Fprintf(os.Stderr, "  creates from %d processes, round %d: %.0f/s\n", o.creatorProcs, round+1, float64(ok.Load())/elapsed.Seconds())
		if int64(total) != created.Load() {
			return b.String(), fmt.Errorf("listed total %.0f after %d creates", total, created.Load())
		}
	}
	b.WriteString("\n")
	return b.String(), nil
}
