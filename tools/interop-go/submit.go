package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// entryFor is the deterministic entry number i of a test run: text and binary bytes of
// varying length, with edge cases: an empty entry, a 65,535-byte entry (the largest a
// uint16 length prefix holds) and a duplicate of an earlier entry.
func entryFor(i int) []byte {
	switch i {
	case 3:
		return []byte{}
	case 5:
		b := bytes.Repeat([]byte{0xa5}, 65535)
		copy(b, "interop max-size entry")
		return b
	case 9:
		return entryFor(8) // a duplicate: same leaf hash at two indexes
	}
	head := fmt.Sprintf("interop entry %d\n", i)
	n := (i * 131) % 300
	b := make([]byte, len(head)+n)
	copy(b, head)
	for k := 0; k < n; k++ {
		b[len(head)+k] = byte(i*7 + k*13)
	}
	return b
}

// runSubmit is `interop-go submit -log URL -token T -from A -to B`: POSTs entries A..B-1
// (entryFor) concurrently and waits for every receipt. It only feeds the log; checking is main's job.
func runSubmit(args []string) {
	fs := flag.NewFlagSet("submit", flag.ExitOnError)
	u := fs.String("log", "", "log URL")
	token := fs.String("token", "", "submitter token")
	from := fs.Int("from", 0, "first entry number")
	to := fs.Int("to", 0, "entry number to stop before")
	par := fs.Int("c", 32, "concurrent requests")
	fs.Parse(args)
	base := strings.TrimSuffix(*u, "/")
	client := &http.Client{Timeout: 60 * time.Second}
	var next int64 = int64(*from)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1) - 1)
				if i >= *to {
					return
				}
				for attempt := 0; ; attempt++ {
					req, _ := http.NewRequest("POST", base+"/v1/entries", bytes.NewReader(entryFor(i)))
					req.Header.Set("Content-Type", "application/octet-stream")
					req.Header.Set("Authorization", "Bearer "+*token)
					resp, err := client.Do(req)
					if err == nil {
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
						err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
						if resp.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
							time.Sleep(500 * time.Millisecond)
							continue
						}
					}
					fmt.Fprintf(os.Stderr, "interop-go submit: entry %d: %v\n", i, err)
					failed.Add(1)
					break
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
