package review

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/selondon/carematch/store"
)

// Kinds of decision.
const (
	Link   = "link"
	NoLink = "no_link"
	Detach = "detach"
)

// Record names a source record (store's one record key).
type Record = store.RecordKey

// ParseRecord reads SOURCE:LOCAL_ID.
func ParseRecord(s string) (Record, error) { return store.ParseRecordKey(s) }

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

// Limits on what a decision may carry, at every entry point (the command
// line, the review page, import): a log line stays small enough to read
// back, and one careless paste cannot stop the nightly run.
const (
	MaxAnalystBytes = 100
	MaxReasonBytes  = 2000
	MaxIDBytes      = 200 // a source ID or local ID
	// MaxLineBytes is the longest log line read; a longer one (written
	// before the limits) is reported as unreadable, never read whole.
	MaxLineBytes = 64 << 10
)

// validate checks a decision before it is written, and each one read back.
func (d Decision) validate() error {
	switch d.Kind {
	case Link, NoLink:
		if d.Right == nil {
			return fmt.Errorf("review: %s needs two records", d.Kind)
		}
		if d.Left == *d.Right {
			return fmt.Errorf("review: %s needs two different records", d.Kind)
		}
	case Detach:
		if d.Right != nil {
			return fmt.Errorf("review: detach is about one record")
		}
	default:
		// The kind is not echoed: a damaged log line could hold anything.
		return errors.New("review: the kind is not link, no_link or detach")
	}
	for _, r := range []*Record{&d.Left, d.Right} {
		if r == nil {
			continue
		}
		if r.Source == "" || r.Local == "" {
			return errors.New("review: a record needs its source ID and local ID")
		}
		if len(r.Source) > MaxIDBytes || len(r.Local) > MaxIDBytes {
			return fmt.Errorf("review: a source or local ID is over %d bytes", MaxIDBytes)
		}
	}
	return checkWho(d.Analyst, d.Reason)
}

// checkWho checks the analyst's name and reason every decision and
// revocation carries.
func checkWho(analyst, reason string) error {
	if strings.TrimSpace(analyst) == "" || strings.TrimSpace(reason) == "" {
		return errors.New("review: a decision needs the analyst's name and a reason")
	}
	if len(analyst) > MaxAnalystBytes {
		return fmt.Errorf("review: the analyst's name is over %d bytes", MaxAnalystBytes)
	}
	if len(reason) > MaxReasonBytes {
		return fmt.Errorf("review: the reason is over %d bytes", MaxReasonBytes)
	}
	for _, s := range []string{analyst, reason} {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
			return errors.New("review: the analyst's name and reason must be plain text (no control characters)")
		}
	}
	return nil
}
