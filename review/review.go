package review

import (
	"bufio"
	"encoding/csv"
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

// Kinds of decision.
const (
	Link   = "link"
	NoLink = "no_link"
	Detach = "detach"
)

// Record names a source record.
type Record struct {
	Source string `json:"source_id"`
	Local  string `json:"local_id"`
}

// String renders SOURCE:LOCAL_ID.
func (r Record) String() string { return r.Source + ":" + r.Local }

// ParseRecord reads SOURCE:LOCAL_ID.
func ParseRecord(s string) (Record, error) {
	src, local, ok := strings.Cut(s, ":")
	if !ok || src == "" || local == "" {
		return Record{}, fmt.Errorf("%q: records are written SOURCE:LOCAL_ID", s)
	}
	return Record{src, local}, nil
}

// Decision is one analyst's decision.
type Decision struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"` // link | no_link | detach
	Left    Record    `json:"left"`
	Right   *Record   `json:"right,omitempty"` // nil for detach
	Analyst string    `json:"analyst"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	// Prints fingerprint the records' details when the decision was made;
	// a later night that finds them changed re-opens the item.
	LeftPrint  string `json:"left_fingerprint,omitempty"`
	RightPrint string `json:"right_fingerprint,omitempty"`
}

// Key identifies what a decision is about: a pair (in either order) or a
// record. A later decision with the same key replaces an earlier one.
func (d Decision) Key() string {
	if d.Right == nil {
		return "record " + d.Left.String()
	}
	a, b := d.Left.String(), d.Right.String()
	if b < a {
		a, b = b, a
	}
	return "pair " + a + " " + b
}

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

func (l *Log) entries() ([]entry, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", l.path, line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Superseded is a decision a later one replaced.
type Superseded struct {
	Decision Decision
	By       string
}

// InForce folds the log: the decisions in force, in the order they were
// made, and those a later decision about the same pair or record replaced.
func (l *Log) InForce() ([]Decision, []Superseded, error) {
	es, err := l.entries()
	if err != nil {
		return nil, nil, err
	}
	byKey := map[string]Decision{}
	var superseded []Superseded
	for _, e := range es {
		switch e.Action {
		case "decide":
			d := *e.Decision
			if old, ok := byKey[d.Key()]; ok {
				superseded = append(superseded, Superseded{old, d.ID})
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
	out := make([]Decision, 0, len(byKey))
	for _, d := range byKey {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, superseded, nil
}

// Decide records a decision and returns it with its ID.
func (l *Log) Decide(d Decision) (Decision, error) {
	switch d.Kind {
	case Link, NoLink:
		if d.Right == nil {
			return d, fmt.Errorf("review: %s needs two records", d.Kind)
		}
		if d.Left == *d.Right {
			return d, fmt.Errorf("review: %s needs two different records", d.Kind)
		}
	case Detach:
		if d.Right != nil {
			return d, fmt.Errorf("review: detach is about one record")
		}
	default:
		return d, fmt.Errorf("review: %q is not link, no_link or detach", d.Kind)
	}
	if strings.TrimSpace(d.Analyst) == "" || strings.TrimSpace(d.Reason) == "" {
		return d, errors.New("review: a decision needs the analyst's name and a reason")
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
	if strings.TrimSpace(analyst) == "" || strings.TrimSpace(reason) == "" {
		return errors.New("review: a revocation needs the analyst's name and a reason")
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

// append adds entries under an exclusive lock on the log.
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
	es, err := l.entries()
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

// csvHeader is the export format, one decision per row.
var csvHeader = []string{"id", "kind", "left_source_id", "left_local_id", "right_source_id", "right_local_id", "analyst", "reason", "at"}

// Export writes the decisions in force as CSV (a team may keep them under
// version control).
func (l *Log) Export(w io.Writer) error {
	in, _, err := l.InForce()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, d := range in {
		rs, rl := "", ""
		if d.Right != nil {
			rs, rl = d.Right.Source, d.Right.Local
		}
		cw.Write([]string{d.ID, d.Kind, d.Left.Source, d.Left.Local, rs, rl, d.Analyst, d.Reason, d.At.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

// Import records the decisions of an exported CSV as new decisions (each
// keeps its analyst, reason and time; the importer is in the audit reason).
// It returns how many were imported.
func (l *Log) Import(r io.Reader, importer string) (int, error) {
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		return 0, fmt.Errorf("import: line 1: the header must be %s", strings.Join(csvHeader, ","))
	}
	n := 0
	for i, row := range rows[1:] {
		d := Decision{Kind: row[1], Left: Record{row[2], row[3]}, Analyst: row[6], Reason: row[7] + " (imported by " + importer + ")"}
		if row[4] != "" {
			d.Right = &Record{row[4], row[5]}
		}
		if t, err := time.Parse(time.RFC3339, row[8]); err == nil {
			d.At = t
		}
		if _, err := l.Decide(d); err != nil {
			return n, fmt.Errorf("import: line %d: %w", i+2, err)
		}
		n++
	}
	return n, nil
}
