package mpi

import (
	"fmt"
	"sort"
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
	EventCreated   = "created"
	EventMergedInt = "merged_into"
	EventSplitFrom = "split_from"
	EventRetired   = "retired"
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
// members lists each new person's records by key (source_id/local_id);
// previous maps a record key to the ID it had last night; registry holds
// every ID issued so far; next is the next sequence number. It returns the
// IDs by root, the night's events, and the next sequence number.
func AssignIDs(members map[int32][]string, previous map[string]string, registry map[string]IDRecord, next int64) (map[int32]string, []Event, int64) {
	roots := make([]int32, 0, len(members))
	for r := range members {
		roots = append(roots, r)
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i] < roots[j] })

	// How many of each previous ID's records each new person holds.
	held := map[string]map[int32]int{}
	for _, r := range roots {
		for _, k := range members[r] {
			if id, ok := previous[k]; ok {
				if held[id] == nil {
					held[id] = map[int32]int{}
				}
				held[id][r]++
			}
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
				events = append(events, Event{other, EventMergedInt, cands[0], "its records now belong to one person with " + cands[0]})
			}
		default:
			ids[r] = FormatID(next)
			next++
			// Records that held an ID whose heir is another person: a split.
			var from string
			for _, k := range members[r] {
				if id, ok := previous[k]; ok && heirOf[id] != r && (from == "" || id < from) {
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
		case EventMergedInt:
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
