package mpi

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"sort"

	"github.com/selondon/carematch/store"
)

// Master IDs are opaque and stable from night to night: "CM" and a
// ten-digit sequence number, no patient data in them. Each night's persons
// inherit the IDs of the previous night's persons through the records they
// share:
//
//   - every previous ID has one heir, the new person holding most of its
//     records (ties: the person whose first record sorts first);
//   - a new person that is the heir of one ID keeps it (the same person, or
//     one that grew);
//   - a new person that is the heir of several IDs merged them: the oldest
//     survives and the others are recorded merged_into it;
//   - a new person that is the heir of none gets a new ID: created, or
//     split_from the ID its records held if they came from a person that
//     split (the larger part kept the ID);
//   - an ID none of whose records are left is retired.
//
// Re-running the same input therefore changes no ID, and a night of new and
// corrected records changes only the IDs that must change.

// Event kinds in the history.
const (
	EventCreated    = "created"
	EventMergedInto = "merged_into"
	EventSplitFrom  = "split_from"
	EventRetired    = "retired"
)

// IDRecord is what the registry knows about an ID.
type IDRecord struct {
	ID         string
	CreatedRun string
	Status     string // active | merged | retired
}

// Event is one line of the history.
type Event struct {
	MasterID, Event, OtherID, Reason string
}

// FormatID renders sequence number n as a master ID.
func FormatID(n int64) string { return fmt.Sprintf("CM%010d", n) }

// AssignIDs gives every new person (keyed by its root record) a master ID.
// members lists each new person's records by key (store.RecordKey; the
// tests use plain strings);
// previous maps a record key to the ID it had last night; registry holds
// every ID issued so far; next is the next sequence number. It returns the
// IDs by root, the night's events, and the next sequence number.
func AssignIDs[K comparable](members map[int32][]K, previous map[K]string, registry map[string]IDRecord, next int64) (map[int32]string, []Event, int64) {
	roots := make([]int32, 0, len(members))
	for r := range members {
		roots = append(roots, r)
	}
	// How many of each previous ID's records each new person holds.
	held := map[string]map[int32]int{}
	for r, keys := range members {
		for _, k := range keys {
			if id, ok := previous[k]; ok {
				if held[id] == nil {
					held[id] = map[int32]int{}
				}
				held[id][r]++
			}
		}
	}
	return assignIDs(roots, held, registry, next)
}

// assignIDs is AssignIDs from what it needs of the records: the persons
// (roots) and, for each previous ID, how many of its records each person
// now holds. A run counts these in SQL (heldIDs), so no record's key passes
// through Go.
func assignIDs(roots []int32, held map[string]map[int32]int, registry map[string]IDRecord, next int64) (map[int32]string, []Event, int64) {
	slices.Sort(roots)
	heldBy := map[int32][]string{}
	for id, parts := range held {
		for r := range parts {
			heldBy[r] = append(heldBy[r], id)
		}
	}
	heirOf := map[string]int32{}
	inherits := map[int32][]string{}
	for id, parts := range held {
		best, bestN := int32(-1), -1
		for r, n := range parts {
			if n > bestN || (n == bestN && r < best) {
				best, bestN = r, n
			}
		}
		heirOf[id] = best
		inherits[best] = append(inherits[best], id)
	}
	older := func(a, b string) bool {
		ra, rb := registry[a].CreatedRun, registry[b].CreatedRun
		if ra != rb {
			return ra < rb
		}
		return a < b
	}
	ids := make(map[int32]string, len(roots))
	var events []Event
	for _, r := range roots {
		cands := inherits[r]
		switch {
		case len(cands) == 1:
			ids[r] = cands[0]
		case len(cands) > 1:
			sort.Slice(cands, func(i, j int) bool { return older(cands[i], cands[j]) })
			ids[r] = cands[0]
			for _, other := range cands[1:] {
				events = append(events, Event{other, EventMergedInto, cands[0], "its records now belong to one person with " + cands[0]})
			}
		default:
			ids[r] = FormatID(next)
			next++
			// Records that held an ID whose heir is another person: a split.
			var from string
			for _, id := range heldBy[r] {
				if heirOf[id] != r && (from == "" || id < from) {
					from = id
				}
			}
			if from != "" {
				events = append(events, Event{ids[r], EventSplitFrom, from, "part of " + from + " that is now a person of its own"})
			} else {
				events = append(events, Event{ids[r], EventCreated, "", "a person not seen before"})
			}
		}
	}
	// Retired: active IDs with no record left tonight.
	var retired []string
	for id, rec := range registry {
		if rec.Status != "active" {
			continue
		}
		if _, ok := held[id]; !ok {
			retired = append(retired, id)
		}
	}
	sort.Strings(retired)
	for _, id := range retired {
		events = append(events, Event{id, EventRetired, "", "none of its records is in tonight's extracts"})
	}
	return ids, events, next
}

// UpdateRegistry records a night's outcome in the registry: IDs merged or
// retired change status, IDs issued tonight are registered as active.
func UpdateRegistry(registry map[string]IDRecord, ids map[int32]string, events []Event, runID string) {
	for _, e := range events {
		r, ok := registry[e.MasterID]
		if !ok {
			continue // issued tonight: registered below
		}
		switch e.Event {
		case EventMergedInto:
			r.Status = "merged"
		case EventRetired:
			r.Status = "retired"
		}
		registry[e.MasterID] = r
	}
	for _, id := range ids {
		if _, ok := registry[id]; !ok {
			registry[id] = IDRecord{ID: id, CreatedRun: runID, Status: "active"}
		}
	}
}

// assignMasterIDs gives each person its master ID (see AssignIDs), carrying
// on from the previous night, and writes person_ids (root, master_id), the
// registry master_ids, the cumulative history and id_seq.
func assignMasterIDs(ctx context.Context, db *store.DB, c *Clusters, opt IndexOptions) error {
	prev := previousIDs{registry: map[string]IDRecord{}, next: 1}
	if opt.PreviousDB != "" {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS prev (READ_ONLY)", store.QuoteString(opt.PreviousDB))); err != nil {
			return fmt.Errorf("previous night's index: %w", err)
		}
		defer db.ExecContext(ctx, "DETACH prev")
		if err := prev.read(ctx, db); err != nil {
			return err
		}
	}
	seen := make(map[int32]bool)
	var roots []int32
	for rid := 1; rid < len(c.Root); rid++ {
		if r := c.Root[rid]; !seen[r] {
			seen[r] = true
			roots = append(roots, r)
		}
	}
	held := map[string]map[int32]int{}
	if prev.history {
		if err := heldIDs(ctx, db, held); err != nil {
			return err
		}
	}
	ids, events, next := assignIDs(roots, held, prev.registry, prev.next)
	UpdateRegistry(prev.registry, ids, events, opt.RunID)
	return writeIDs(ctx, db, ids, prev.registry, events, next, prev.history, opt.RunID)
}

// previousIDs is what the last night's index says about master IDs.
type previousIDs struct {
	registry map[string]IDRecord // every ID ever issued
	next     int64               // the next ID's number
	history  bool                // prev holds a history to carry on
}

// read fills p from the attached database prev, if it has an index.
func (p *previousIDs) read(ctx context.Context, db *store.DB) error {
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = 'prev' AND table_name IN ('xref', 'master_ids', 'id_seq', 'history')`).Scan(&tables); err != nil {
		return err
	}
	if tables != 4 {
		return nil
	}
	p.history = true
	if err := scan(ctx, db, "SELECT master_id, created_run, status FROM prev.master_ids", func(rs *sql.Rows) error {
		var r IDRecord
		if err := rs.Scan(&r.ID, &r.CreatedRun, &r.Status); err != nil {
			return err
		}
		p.registry[r.ID] = r
		return nil
	}); err != nil {
		return err
	}
	return db.QueryRowContext(ctx, "SELECT next FROM prev.id_seq").Scan(&p.next)
}

// heldIDs counts, for each master ID of last night's index (attached as
// prev), how many of its records each of tonight's persons (clusters.root)
// holds.
func heldIDs(ctx context.Context, db *store.DB, held map[string]map[int32]int) error {
	return scan(ctx, db, `SELECT x.master_id, c.root, count(*) FROM clusters c JOIN prep p USING (rid)
		JOIN prev.xref x ON x.source_id = p.source_id AND x.local_id = p.local_id GROUP BY ALL`, func(rs *sql.Rows) error {
		var id string
		var root int32
		var n int
		if err := rs.Scan(&id, &root, &n); err != nil {
			return err
		}
		if held[id] == nil {
			held[id] = map[int32]int{}
		}
		held[id][root] = n
		return nil
	})
}

// writeIDs writes person_ids, master_ids, id_seq and history (last night's
// events, when carried on, then tonight's).
func writeIDs(ctx context.Context, db *store.DB, ids map[int32]string, registry map[string]IDRecord, events []Event, next int64, carry bool, runID string) error {
	stmts := []string{
		`CREATE OR REPLACE TABLE person_ids (root INTEGER, master_id VARCHAR)`,
		`CREATE OR REPLACE TABLE master_ids (master_id VARCHAR, created_run VARCHAR, status VARCHAR)`,
		`CREATE OR REPLACE TABLE history (run_id VARCHAR, master_id VARCHAR, event VARCHAR, other_id VARCHAR, reason VARCHAR)`,
		fmt.Sprintf(`CREATE OR REPLACE TABLE id_seq AS SELECT %d::BIGINT AS next`, next),
	}
	if carry {
		stmts = append(stmts, `INSERT INTO history SELECT * FROM prev.history`)
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("master IDs: %w", err)
		}
	}
	roots := make([]int32, 0, len(ids))
	for r := range ids {
		roots = append(roots, r)
	}
	if err := db.AppendEach(ctx, "person_ids", len(roots), func(i int) []driver.Value {
		return []driver.Value{roots[i], ids[roots[i]]}
	}); err != nil {
		return err
	}
	regs := make([]IDRecord, 0, len(registry))
	for _, r := range registry {
		regs = append(regs, r)
	}
	if err := db.AppendEach(ctx, "master_ids", len(regs), func(i int) []driver.Value {
		return []driver.Value{regs[i].ID, regs[i].CreatedRun, regs[i].Status}
	}); err != nil {
		return err
	}
	return db.AppendEach(ctx, "history", len(events), func(i int) []driver.Value {
		e := events[i]
		var other driver.Value
		if e.OtherID != "" {
			other = e.OtherID
		}
		return []driver.Value{runID, e.MasterID, e.Event, other, e.Reason}
	})
}

// runDate is the calendar date of a run ID (20261124T021500Z → 2026-11-24).
func runDate(runID string) string {
	if len(runID) < 8 {
		return "1970-01-01"
	}
	return runID[:4] + "-" + runID[4:6] + "-" + runID[6:8]
}
