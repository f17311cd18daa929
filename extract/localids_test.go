package extract

import (
	"fmt"
	"testing"
)

func TestLocalIDs(t *testing.T) {
	type step struct {
		id        string
		line      int64
		wantFirst int64
		wantDup   bool
	}
	steps := []step{
		{"a1", 2, 0, false},
		{"b2", 3, 0, false},
		{"a1", 4, 2, true},
		{"", 5, 0, false},
		{"c3", 6, 0, false},
		{"b2", 7, 3, true},
		{"", 8, 5, true},
		{"a1", 9, 2, true},
	}
	for _, hash := range []struct {
		name string
		fn   func(string) uint64
	}{
		{"seeded", nil},
		// Every ID has the same hash: each after the first is told apart
		// by its bytes.
		{"all clash", func(string) uint64 { return 7 }},
		{"two clash", func(id string) uint64 { return uint64(len(id) % 2) }},
	} {
		t.Run(hash.name, func(t *testing.T) {
			s := newLocalIDs()
			if hash.fn != nil {
				s.hash = hash.fn
			}
			for _, st := range steps {
				first, dup := s.add(st.id, st.line)
				if first != st.wantFirst || dup != st.wantDup {
					t.Errorf("add(%q, %d) = %d, %v; want %d, %v", st.id, st.line, first, dup, st.wantFirst, st.wantDup)
				}
			}
		})
	}
}

// TestLocalIDsMany checks a source's worth of IDs against a plain map, with
// hashes made to collide often.
func TestLocalIDsMany(t *testing.T) {
	s := newLocalIDs()
	s.hash = func(id string) uint64 { return uint64(len(id)) * 31 % 97 }
	want := map[string]int64{}
	for line := int64(2); line < 20_000; line++ {
		id := fmt.Sprintf("p%d", (line*7919)%5_003)
		first, dup := s.add(id, line)
		w, wdup := want[id]
		if !wdup {
			want[id] = line
		}
		if dup != wdup || (dup && first != w) {
			t.Fatalf("line %d: add(%q) = %d, %v; want %d, %v", line, id, first, dup, w, wdup)
		}
	}
}
