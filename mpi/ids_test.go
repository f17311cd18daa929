package mpi

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/selondon/carematch/store"
)

// nights runs the master-ID assignment night after night, each night in a
// DuckDB file of its own that carries on from the last, for persons given
// as lists of record keys (local IDs of one source).
type nights struct {
	t    *testing.T
	dir  string
	prev string // last night's database, "" before the first
	n    int
	// keep marks a person made of exactly the records of one of last
	// night's as kept (kept_roots), as an incremental night's clustering
	// does; last is last night's persons' roots by their records.
	keep bool
	last map[string]int32
}

// run gives the persons of one night their IDs (in the order given) and
// returns them with the night's events.
func (s *nights) run(persons ...[]string) ([]string, []historyEvent) {
	t, ctx := s.t, context.Background()
	s.n++
	runID := fmt.Sprintf("2026110%dT020000Z", s.n)
	path := filepath.Join(s.dir, fmt.Sprintf("night%d.duckdb", s.n))
	db, err := store.Open(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE prep (rid INTEGER, source_id VARCHAR, local_id VARCHAR);
		CREATE TABLE clusters (rid INTEGER, root INTEGER); CREATE TABLE kept_roots (root INTEGER, prev_root INTEGER)`); err != nil {
		t.Fatal(err)
	}
	// Roots in an order unlike the persons', so nothing rests on it.
	var prep, clusters [][]driver.Value
	rid := int32(0)
	roots := make([]int32, len(persons))
	for i := len(persons) - 1; i >= 0; i-- {
		roots[i] = rid + 1
		for _, k := range persons[i] {
			rid++
			prep = append(prep, []driver.Value{rid, "src", k})
			clusters = append(clusters, []driver.Value{rid, roots[i]})
		}
	}
	var kept [][]driver.Value
	last := map[string]int32{}
	for i, p := range persons {
		k := strings.Join(slices.Sorted(slices.Values(p)), " ")
		if prev, ok := s.last[k]; ok && s.keep {
			kept = append(kept, []driver.Value{roots[i], prev})
		}
		last[k] = roots[i]
	}
	s.last = last
	for table, rows := range map[string][][]driver.Value{"prep": prep, "clusters": clusters, "kept_roots": kept} {
		if err := db.AppendEach(ctx, table, len(rows), func(i int) []driver.Value { return rows[i] }); err != nil {
			t.Fatal(err)
		}
	}
	if err := assignMasterIDs(ctx, db, IndexOptions{RunID: runID, PreviousDB: s.prev}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE xref AS SELECT c.rid, m.master_id, p.source_id, p.local_id
		FROM clusters c JOIN prep p USING (rid) JOIN person_ids m USING (root)`); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(persons))
	for i, r := range roots {
		if err := db.QueryRowContext(ctx, "SELECT master_id FROM person_ids WHERE root = ?", r).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	var events []historyEvent
	rows, err := db.QueryContext(ctx, "SELECT master_id, event, coalesce(other_id, ''), reason FROM history WHERE run_id = ? ORDER BY master_id", runID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var e historyEvent
		if err := rows.Scan(&e.MasterID, &e.Event, &e.OtherID, &e.Reason); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	s.prev = path
	return ids, events
}

// historyEvent is one line of a night's history.
type historyEvent struct {
	MasterID, Event, OtherID, Reason string
}

// registry reads last night's master_ids: status by ID.
func (s *nights) registry() map[string]string {
	db, err := store.OpenReadOnly(s.prev)
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), "SELECT master_id, status FROM master_ids")
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			s.t.Fatal(err)
		}
		out[id] = st
	}
	return out
}

// The history rules, night after night; a night that keeps last night's
// unchanged persons (kept_roots) gives every ID and event the same.
func TestStableIDs(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep %v", keep), func(t *testing.T) { stableIDs(t, keep) })
	}
}

func stableIDs(t *testing.T, keep bool) {
	s := &nights{t: t, dir: t.TempDir(), keep: keep}
	ids, ev := s.run([]string{"a1", "a2"}, []string{"b1"}, []string{"c1"}, []string{"d1", "d2", "d3"})
	// New IDs are numbered in root order; run() gives the last person the first root.
	if !reflect.DeepEqual(ids, []string{"CM0000000004", "CM0000000003", "CM0000000002", "CM0000000001"}) || len(ev) != 4 {
		t.Fatalf("first night: %v %v", ids, ev)
	}
	for _, e := range ev {
		if e.Event != EventCreated || e.Reason != "a person not seen before" {
			t.Fatalf("first night events %v", ev)
		}
	}
	a, b, c, d := ids[0], ids[1], ids[2], ids[3]
	// The same input again: no ID changes, no events.
	ids2, ev := s.run([]string{"a1", "a2"}, []string{"b1"}, []string{"c1"}, []string{"d1", "d2", "d3"})
	if !reflect.DeepEqual(ids2, ids) || len(ev) != 0 {
		t.Fatalf("rerun changed IDs: %v %v", ids2, ev)
	}
	// A grows, B and C merge (C older than B by ID), D splits 2+1, a new E.
	ids3, ev := s.run([]string{"a1", "a2", "a3"}, []string{"b1", "c1"}, []string{"d1", "d2"}, []string{"d3"}, []string{"e1"})
	want := []string{a, c, d, "CM0000000006", "CM0000000005"}
	if !reflect.DeepEqual(ids3, want) {
		t.Fatalf("night 3 IDs %v, want %v", ids3, want)
	}
	wantEv := []historyEvent{
		{b, EventMergedInto, c, "its records now belong to one person with " + c},
		{"CM0000000005", EventCreated, "", "a person not seen before"},
		{"CM0000000006", EventSplitFrom, d, "part of " + d + " that is now a person of its own"},
	}
	if !reflect.DeepEqual(ev, wantEv) {
		t.Fatalf("night 3 events %v, want %v", ev, wantEv)
	}
	if st := s.registry(); st[b] != "merged" || st[c] != "active" || len(st) != 6 {
		t.Fatalf("night 3 registry %v", st)
	}
	// A's records all go: retired. Everyone else keeps their ID.
	ids4, ev := s.run([]string{"b1", "c1"}, []string{"d1", "d2"}, []string{"d3"}, []string{"e1"})
	if !reflect.DeepEqual(ids4, want[1:]) {
		t.Fatalf("night 4 IDs %v", ids4)
	}
	if len(ev) != 1 || ev[0].Event != EventRetired || ev[0].MasterID != a {
		t.Fatalf("night 4 events %v", ev)
	}
	if st := s.registry(); st[a] != "retired" {
		t.Fatalf("night 4 registry %v", st)
	}
	// A merge keeps the older ID even when the younger person is larger.
	s2 := &nights{t: t, dir: t.TempDir(), keep: keep}
	s2.run([]string{"x1"})
	s2.run([]string{"x1"}, []string{"y1", "y2", "y3"})
	ids, ev = s2.run([]string{"x1", "y1", "y2", "y3"})
	if ids[0] != "CM0000000001" || len(ev) != 1 || ev[0].MasterID != "CM0000000002" {
		t.Fatalf("merge survivor %v %v", ids, ev)
	}
	// The next number carries on: a person new on night 4 gets 3.
	ids, _ = s2.run([]string{"x1", "y1", "y2", "y3"}, []string{"z1"})
	if ids[1] != "CM0000000003" {
		t.Fatalf("next ID %v", ids)
	}
}
