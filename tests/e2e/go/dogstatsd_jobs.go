// A service instrumented with datadog-go (Debian's golang-github-datadog-datadog-go-dev,
// 2.1.0), reporting background jobs and an up-down gauge as a Go service does without
// ustatsd's own client: ServiceCheck and SimpleServiceCheck for job runs, Incr and Count
// with an outcome tag, and Incr, Decr and Count(..., -2) on the gauge. The same runs and
// moves as hotshots.js's "jobs" scenario; test_e2e_clientjobs.c sends them as native
// lines to twins and compares the exposition.
//
//	dogstatsd_jobs PATH
//
// It prints the number of datagrams it sent (`sent=N`) and exits 0, or prints the first
// error and exits 1.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/DataDog/datadog-go/statsd"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dogstatsd_jobs PATH")
		os.Exit(2)
	}
	c, err := statsd.New("unix://" + os.Args[1])
	if err != nil {
		fail(err)
	}
	// The writer's default deadline is 1 ms: a daemon that has not yet drained a short
	// kernel queue (net.unix.max_dgram_qlen) would make a send fail.
	if err := c.SetWriteTimeout(30 * time.Second); err != nil {
		fail(err)
	}
	sent := 0
	do := func(err error) {
		if err != nil {
			fail(err)
		}
		sent++
	}
	do(c.SimpleServiceCheck("cas-promotion", statsd.Unknown))
	do(c.SimpleServiceCheck("publish", statsd.Ok))
	do(c.Incr("publish", []string{"outcome:idle"}, 1))
	do(c.ServiceCheck(&statsd.ServiceCheck{
		Name:      "publish",
		Status:    statsd.Critical,
		Timestamp: time.Unix(1700000000, 0),
		Hostname:  "web-1",
		Message:   "upload | failed\nm: #2",
		Tags:      []string{"env:prod"},
	}))
	do(c.Count("publish", 1, []string{"outcome:error"}, 1))
	do(c.Incr("imgsrv.background_job.attempts", []string{"job:publish", "outcome:error"}, 1))
	do(c.ServiceCheck(&statsd.ServiceCheck{Name: "publish", Status: statsd.Warn,
		Tags: []string{"queue:default"}}))
	do(c.Count("cas-promotion", 2, []string{"outcome:error"}, 1))
	for i := 0; i < 3; i++ {
		do(c.Incr("inflight", nil, 1))
	}
	do(c.Decr("inflight", nil, 1))
	do(c.Count("inflight", 4, nil, 1))
	do(c.Count("inflight", -2, nil, 1))
	if err := c.Close(); err != nil {
		fail(err)
	}
	fmt.Printf("sent=%d\n", sent)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "dogstatsd_jobs: %v\n", err)
	os.Exit(1)
}
