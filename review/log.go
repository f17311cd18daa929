package review

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// entry is a line of the log.
type entry struct {
	Action   string    `json:"action"` // decide | revoke
	Decision *Decision `json:"decision,omitempty"`
	Revokes  string    `json:"revokes,omitempty"`
	Analyst  string    `json:"analyst"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// Log is the decisions file of a state directory.
type Log struct{ path string }

// Open names the log in stateDir (it need not exist yet).
func Open(stateDir string) *Log { return &Log{path: filepath.Join(stateDir, "decisions.jsonl")} }

// Path is the log file.
func (l *Log) Path() string { return l.path }

// ErrNoDecision is returned by Revoke for an ID not in force.
var ErrNoDecision = errors.New("review: no such decision in force")

// BadLine is a line of the log that cannot be applied: it is reported (the
// nightly run lists it with the stale decisions) and the rest of the log
// still applies.
type BadLine struct {
	Line   int
	Reason string
	// Torn is a last line cut short by a crash while it was appended: the
	// decision was never acknowledged, and the next append removes it.
	Torn bool
}

// entries reads the log. A line that cannot be read or makes no sense is
// returned as a BadLine, never as an error: one bad line must not stop a
// night.
func (l *Log) entries() ([]entry, []BadLine, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var out []entry
	var bad []BadLine
	err = readLines(f, MaxLineBytes, func(line int, b []byte, tooLong, last bool) {
		if tooLong {
			bad = append(bad, BadLine{Line: line, Reason: fmt.Sprintf("the line is over %d bytes", MaxLineBytes)})
			return
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			if last {
				bad = append(bad, BadLine{Line: line, Reason: "the last line is incomplete (a write cut short)", Torn: true})
			} else {
				bad = append(bad, BadLine{Line: line, Reason: "not a JSON log entry"})
			}
			return
		}
		if why := e.check(); why != "" {
			bad = append(bad, BadLine{Line: line, Reason: why})
			return
		}
		out = append(out, e)
	})
	return out, bad, err
}

// readLines calls fn for each line of r without its newline, numbered from
// 1. A line longer than max is skipped unread (tooLong); last says the line
// had no newline after it.
func readLines(r io.Reader, max int, fn func(line int, b []byte, tooLong, last bool)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	tooLong := false
	for line := 1; ; {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+1 {
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == nil:
			fn(line, bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r")), tooLong, false)
		case errors.Is(err, io.EOF):
			if len(buf) > 0 || tooLong {
				fn(line, buf, tooLong, true)
			}
			return nil
		default:
			return err
		}
		line++
		buf, tooLong = buf[:0], false
	}
}

// check says what makes an entry unusable, or "".
func (e entry) check() string {
	switch e.Action {
	case "decide":
		if e.Decision == nil {
			return "a decide entry without its decision"
		}
		if e.Decision.ID == "" {
			return "a decision without an ID"
		}
		if err := e.Decision.validate(); err != nil {
			return strings.TrimPrefix(err.Error(), "review: ")
		}
	case "revoke":
		if e.Revokes == "" {
			return "a revoke entry that names no decision"
		}
	default:
		return "an unknown action (not decide or revoke)"
	}
	return ""
}

// Superseded is a decision a later one replaced.
type Superseded struct {
	Decision Decision
	By       string
}

// Folded is the log read and folded.
type Folded struct {
	// InForce are the decisions in force, in the order they were made.
	InForce []Decision
	// Superseded are those a later decision about the same pair or record
	// replaced.
	Superseded []Superseded
	// Unreadable are lines that could not be applied; the rest were.
	Unreadable []BadLine
}

// Read folds the log: the latest decision about a pair (or record) wins, a
// revoke withdraws one.
func (l *Log) Read() (*Folded, error) {
	es, bad, err := l.entries()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.path, err)
	}
	f := &Folded{Unreadable: bad}
	byKey := map[string]Decision{}
	for _, e := range es {
		switch e.Action {
		case "decide":
			d := *e.Decision
			if old, ok := byKey[d.Key()]; ok {
				f.Superseded = append(f.Superseded, Superseded{old, d.ID})
			}
			byKey[d.Key()] = d
		case "revoke":
			for k, d := range byKey {
				if d.ID == e.Revokes {
					delete(byKey, k)
				}
			}
		}
	}
	f.InForce = make([]Decision, 0, len(byKey))
	for _, d := range byKey {
		f.InForce = append(f.InForce, d)
	}
	sort.Slice(f.InForce, func(i, j int) bool { return f.InForce[i].ID < f.InForce[j].ID })
	return f, nil
}

// InForce is Read's decisions in force and superseded ones.
func (l *Log) InForce() ([]Decision, []Superseded, error) {
	f, err := l.Read()
	if err != nil {
		return nil, nil, err
	}
	return f.InForce, f.Superseded, nil
}

// Decide records a decision and returns it with its ID.
func (l *Log) Decide(d Decision) (Decision, error) {
	if err := d.validate(); err != nil {
		return d, err
	}
	if d.At.IsZero() {
		d.At = time.Now().UTC()
	}
	err := l.append(func(es []entry) ([]entry, error) {
		n := 0
		for _, e := range es {
			if e.Action == "decide" {
				n++
			}
		}
		d.ID = fmt.Sprintf("D%06d", n+1)
		return []entry{{Action: "decide", Decision: &d, Analyst: d.Analyst, Reason: d.Reason, At: d.At}}, nil
	})
	return d, err
}

// Revoke withdraws a decision in force.
func (l *Log) Revoke(id, analyst, reason string) error {
	if err := checkWho(analyst, reason); err != nil {
		return err
	}
	return l.append(func([]entry) ([]entry, error) {
		in, _, err := l.InForce()
		if err != nil {
			return nil, err
		}
		for _, d := range in {
			if d.ID == id {
				return []entry{{Action: "revoke", Revokes: id, Analyst: analyst, Reason: reason, At: time.Now().UTC()}}, nil
			}
		}
		return nil, fmt.Errorf("%w: %s", ErrNoDecision, id)
	})
}

// append adds entries under an exclusive lock on the log. A torn last line
// (a crash while appending; never acknowledged) is cut off first, so the new
// entry starts on a line of its own.
func (l *Log) append(make func([]entry) ([]entry, error)) error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := l.cutTornTail(); err != nil {
		return err
	}
	es, _, err := l.entries()
	if err != nil {
		return err
	}
	add, err := make(es)
	if err != nil {
		return err
	}
	for _, e := range add {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return f.Sync()
}

// cutTornTail removes an incomplete last line; a complete last entry that
// only lacks its newline gets one. The caller holds the lock; the log is
// small (it is read whole on every append anyway).
func (l *Log) cutTornTail() error {
	f, err := os.OpenFile(l.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	buf, err := io.ReadAll(f)
	if err != nil || len(buf) == 0 || buf[len(buf)-1] == '\n' {
		return err
	}
	tail := buf[bytes.LastIndexByte(buf, '\n')+1:]
	size := int64(len(buf))
	var e entry
	if json.Unmarshal(tail, &e) == nil && e.check() == "" {
		_, err = f.WriteAt([]byte{'\n'}, size)
	} else {
		err = f.Truncate(size - int64(len(tail)))
	}
	if err != nil {
		return err
	}
	return f.Sync()
}
