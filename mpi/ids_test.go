package mpi

import (
	"reflect"
	"testing"
)

// night runs AssignIDs for persons given as lists of record keys, against
// the previous night's assignment, and returns the ID of each person (in the
// order given), the events and the new registry.
type nightState struct {
	previous map[string]string
	registry map[string]IDRecord
	next     int64
}

func (s *nightState) run(run string, persons ...[]string) ([]string, []Event) {
	members := map[int32][]string{}
	for i, p := range persons {
		members[int32(i+1)] = p
	}
	ids, events, next := AssignIDs(members, s.previous, s.registry, s.next)
	s.next = next
	s.previous = map[string]string{}
	out := make([]string, len(persons))
	for i, p := range persons {
		out[i] = ids[int32(i+1)]
		for _, k := range p {
			s.previous[k] = out[i]
		}
	}
	UpdateRegistry(s.registry, ids, events, run)
	return out, events
}

func TestStableIDs(t *testing.T) {
	s := &nightState{previous: map[string]string{}, registry: map[string]IDRecord{}, next: 1}
	ids, ev := s.run("n1", []string{"a1", "a2"}, []string{"b1"}, []string{"c1"}, []string{"d1", "d2", "d3"})
	if !reflect.DeepEqual(ids, []string{"CM0000000001", "CM0000000002", "CM0000000003", "CM0000000004"}) || len(ev) != 4 {
		t.Fatalf("first night: %v %v", ids, ev)
	}
	// The same input again: no ID changes, no events.
	ids2, ev := s.run("n2", []string{"a1", "a2"}, []string{"b1"}, []string{"c1"}, []string{"d1", "d2", "d3"})
	if !reflect.DeepEqual(ids2, ids) || len(ev) != 0 {
		t.Fatalf("rerun changed IDs: %v %v", ids2, ev)
	}
	// A grows, B and C merge (B older than C by ID), D splits 2+1, a new E.
	ids3, ev := s.run("n3", []string{"a1", "a2", "a3"}, []string{"b1", "c1"}, []string{"d1", "d2"}, []string{"d3"}, []string{"e1"})
	want := []string{"CM0000000001", "CM0000000002", "CM0000000004", "CM0000000005", "CM0000000006"}
	if !reflect.DeepEqual(ids3, want) {
		t.Fatalf("night 3 IDs %v, want %v", ids3, want)
	}
	wantEv := []Event{
		{"CM0000000003", EventMergedInto, "CM0000000002", "its records now belong to one person with CM0000000002"},
		{"CM0000000005", EventSplitFrom, "CM0000000004", "part of CM0000000004 that is now a person of its own"},
		{"CM0000000006", EventCreated, "", "a person not seen before"},
	}
	if !reflect.DeepEqual(ev, wantEv) {
		t.Fatalf("night 3 events %v", ev)
	}
	// A's records all go: retired. Everyone else keeps their ID.
	ids4, ev := s.run("n4", []string{"b1", "c1"}, []string{"d1", "d2"}, []string{"d3"}, []string{"e1"})
	if !reflect.DeepEqual(ids4, want[1:]) {
		t.Fatalf("night 4 IDs %v", ids4)
	}
	if len(ev) != 1 || ev[0].Event != EventRetired || ev[0].MasterID != "CM0000000001" {
		t.Fatalf("night 4 events %v", ev)
	}
	// A merge keeps the older ID even when the younger person is larger.
	s2 := &nightState{previous: map[string]string{}, registry: map[string]IDRecord{}, next: 1}
	s2.run("n1", []string{"x1"})
	s2.run("n2", []string{"x1"}, []string{"y1", "y2", "y3"})
	ids, ev = s2.run("n3", []string{"x1", "y1", "y2", "y3"})
	if ids[0] != "CM0000000001" || len(ev) != 1 || ev[0].MasterID != "CM0000000002" {
		t.Fatalf("merge survivor %v %v", ids, ev)
	}
}
