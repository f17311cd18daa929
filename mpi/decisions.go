package mpi

import (
	"context"
	"database/sql/driver"
	"math"
	"strings"

	"github.com/selondon/carematch/store"
)

// UnreadableDecision is a line of the decision log that could not be read.
type UnreadableDecision struct {
	File   string // the log's base name
	Line   int
	Reason string
}

// Decision is an analyst's decision as the index applies it.
type Decision struct {
	// Prints are the records' fingerprints when the decision was made
	// (FingerprintSQL); if a record has changed since, the decision is
	// suspended and the item re-opened.
	LeftPrint, RightPrint string
	ID                    string
	Kind                  string          // link | no_link | detach
	Left, Right           store.RecordKey // Right empty for detach
	SupersededBy          string          // a later decision about the same records replaced it: reported, not applied
}

// FingerprintSQL is a record's standardised details in one hash, over a
// row of prep: the one definition used when a decision is made and when a
// later night checks whether the records it was about have changed.
const FingerprintSQL = `md5(concat_ws('|', coalesce(nhs_number, ''), coalesce(given_name, ''), coalesce(middle_names, ''),
	coalesce(family_name, ''), coalesce(dob::VARCHAR, ''), coalesce(sex, ''), coalesce(postcode, ''), coalesce(address_key, '')))`

// namedRecord is a record a decision names, as tonight's run knows it.
type namedRecord struct {
	rid   int32
	print string
}

// lookupRecords finds named records in prep — their rid and fingerprint —
// with one join per thousand names, not a scan of every record.
func lookupRecords(ctx context.Context, db *store.DB, keys []store.RecordKey) (map[store.RecordKey]namedRecord, error) {
	out := map[store.RecordKey]namedRecord{}
	for start := 0; start < len(keys); start += 1000 {
		chunk := keys[start:min(start+1000, len(keys))]
		vals := make([]string, len(chunk))
		args := make([]any, 0, 2*len(chunk))
		for i, k := range chunk {
			vals[i] = "(?, ?)"
			args = append(args, k.Source, k.Local)
		}
		q := "SELECT p.source_id, p.local_id, p.rid, " + FingerprintSQL + " FROM prep p JOIN (VALUES " +
			strings.Join(vals, ", ") + ") v(s, l) ON p.source_id = v.s AND p.local_id = v.l"
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k store.RecordKey
			var r namedRecord
			if err := rows.Scan(&k.Source, &k.Local, &r.rid, &r.print); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Fingerprints reads the fingerprints of records in a run's database; a
// record that is not there has none.
func Fingerprints(ctx context.Context, db *store.DB, recs []store.RecordKey) (map[store.RecordKey]string, error) {
	found, err := lookupRecords(ctx, db, recs)
	if err != nil {
		return nil, err
	}
	out := make(map[store.RecordKey]string, len(found))
	for k, r := range found {
		out[k] = r.print
	}
	return out, nil
}

// applyDecisions turns decisions into analyst edges and constraints, and
// records those that no longer apply (a record is gone) as stale_decision
// exceptions and decided_persons for the review queue.
func applyDecisions(ctx context.Context, db *store.DB, ds []Decision, edges *[]Edge) (Constraints, error) {
	con := Constraints{Detached: map[int32]bool{}}
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE decided_pairs (rid_l INTEGER, rid_r INTEGER)`); err != nil {
		return con, err
	}
	if len(ds) == 0 {
		return con, nil
	}
	var keys []store.RecordKey
	for _, d := range ds {
		keys = append(keys, d.Left)
		if d.Kind != "detach" {
			keys = append(keys, d.Right)
		}
	}
	found, err := lookupRecords(ctx, db, keys)
	if err != nil {
		return con, err
	}
	changed := map[string]string{}
	var decided [][2]int32
	var stale []Decision
	for _, d := range ds {
		if d.SupersededBy != "" {
			stale = append(stale, d)
			continue
		}
		ra, okA := found[d.Left]
		rb, okB := found[d.Right]
		a, b := ra.rid, rb.rid
		if !okA || (d.Kind != "detach" && !okB) {
			stale = append(stale, d)
			continue
		}
		var moved []string
		if d.LeftPrint != "" && d.LeftPrint != ra.print {
			moved = append(moved, d.Left.String())
		}
		if d.RightPrint != "" && okB && d.RightPrint != rb.print {
			moved = append(moved, d.Right.String())
		}
		if len(moved) > 0 {
			changed[d.ID] = strings.Join(moved, " and ")
			stale = append(stale, d)
			continue
		}
		switch d.Kind {
		case "link":
			*edges = append(*edges, Edge{min(a, b), max(a, b), MethodAnalyst, math.Inf(1)})
			decided = append(decided, [2]int32{min(a, b), max(a, b)})
		case "no_link":
			con.Apart = append(con.Apart, [2]int32{a, b})
			decided = append(decided, [2]int32{min(a, b), max(a, b)})
		case "detach":
			con.Detached[a] = true
		}
	}
	if err := db.AppendEach(ctx, "decided_pairs", len(decided), func(i int) []driver.Value {
		return []driver.Value{decided[i][0], decided[i][1]}
	}); err != nil {
		return con, err
	}
	return con, db.AppendEach(ctx, "exceptions", len(stale), func(i int) []driver.Value {
		d := stale[i]
		why := "a record it names is not in tonight's extracts"
		switch {
		case d.SupersededBy != "":
			why = "decision " + d.SupersededBy + " about the same records replaced it"
		case changed[d.ID] != "":
			why = "the details of " + changed[d.ID] + " have changed since: suspended, and the item re-opened for review"
		}
		return []driver.Value{string(store.ExcStaleDecision), d.Left.Source, d.Left.Local, nil, nil,
			"analyst decision " + d.ID + " (" + d.Kind + ") no longer applies: " + why, d.ID, nil}
	})
}

// reportUnreadable reports the decision log's unreadable lines with the
// stale decisions.
func reportUnreadable(ctx context.Context, db *store.DB, bad []UnreadableDecision) error {
	return db.AppendEach(ctx, "exceptions", len(bad), func(i int) []driver.Value {
		u := bad[i]
		return []driver.Value{string(store.ExcStaleDecision), "decisions", nil, int64(u.Line), nil,
			"this line of the analysts' decision log cannot be applied (" + u.Reason + "); the other decisions apply", nil, u.File}
	})
}
