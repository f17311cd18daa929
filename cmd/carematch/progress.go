package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes plain, timestamped lines about long work to stderr. It is
// given counts, stage names and source IDs only — never a record's values.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	quiet bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, start: time.Now(), quiet: quiet}
}

func (p *progress) logf(format string, a ...any) {
	if p == nil || p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "carematch: %6.1fs  %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, a...))
}
