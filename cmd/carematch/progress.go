package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v3"
)

// progress writes lines about long work to stderr: plain lines with the
// clock time (UTC) and the time since the command started, or, with
// --log-format json, one JSON object a line (time, level, stage, message,
// elapsed_s and, for some lines, counts) for a scheduler's log collector.
// It is given counts, stage names and source IDs only — never a record's
// values.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	quiet bool
	json  bool
	now   func() time.Time
}

// Log formats (--log-format).
const (
	logText = "text"
	logJSON = "json"
)

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, start: time.Now(), quiet: quiet, now: time.Now}
}

// progressFor is the progress of a command, as its global flags ask.
func progressFor(cmd *cli.Command) (*progress, error) {
	p := newProgress(cmd.Root().ErrWriter, cmd.Bool("quiet"))
	switch f := cmd.String("log-format"); f {
	case "", logText:
	case logJSON:
		p.json = true
	default:
		return nil, usagef("--log-format is %s or %s, not %q", logText, logJSON, f)
	}
	return p, nil
}

// logf writes a line: "stage: message", WARNING in it for a warning.
func (p *progress) logf(format string, a ...any) { p.log(nil, format, a...) }

// logCounts writes a line and, in JSON, its counts.
func (p *progress) logCounts(counts map[string]int64, format string, a ...any) {
	p.log(counts, format, a...)
}

// logLine is a line in JSON.
type logLine struct {
	Time     string           `json:"time"`
	Level    string           `json:"level"`
	Stage    string           `json:"stage"`
	Message  string           `json:"message"`
	Elapsed  float64          `json:"elapsed_s"`
	Counts   map[string]int64 `json:"counts,omitempty"`
	ToolName string           `json:"tool"`
}

func (p *progress) log(counts map[string]int64, format string, a ...any) {
	if p == nil || p.quiet {
		return
	}
	msg := fmt.Sprintf(format, a...)
	now := p.now()
	elapsed := now.Sub(p.start).Seconds()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.json {
		fmt.Fprintf(p.w, "carematch: %s %6.1fs  %s\n", now.UTC().Format(time.RFC3339), elapsed, msg)
		return
	}
	stage, rest := splitStage(msg)
	level := "info"
	if strings.Contains(rest, "WARNING ") {
		level, rest = "warning", strings.Replace(rest, "WARNING ", "", 1)
	}
	b, _ := json.Marshal(logLine{Time: now.UTC().Format(time.RFC3339Nano), Level: level, Stage: stage, Message: rest,
		Elapsed: float64(int64(elapsed*1000)) / 1000, Counts: counts, ToolName: "carematch"})
	p.w.Write(append(b, '\n'))
}

// splitStage splits "load: gp_lewisham: …" into its stage and the rest; a
// line about the run as a whole ("run …") is stage "run".
func splitStage(msg string) (stage, rest string) {
	head, tail, ok := strings.Cut(msg, ": ")
	if ok && head != "" && !strings.ContainsAny(head, " \t\"") {
		return head, tail
	}
	return "run", msg
}
