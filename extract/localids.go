package extract

import "hash/maphash"

// localIDs are the local IDs a source has loaded, with the line each was
// first read on: a later row with one of them is rejected as a duplicate.
//
// Why not a map from ID to line: at two million records the strings such a
// map keeps alive were scanned by every garbage collection of the load, and
// every growth of the map hashed each ID again, about a tenth of the load's
// CPU (docs/BENCHMARKS.md, the twenty-seventh session). Here the IDs are
// kept end to end in one byte slice, and the map goes from an ID's 64-bit
// hash to its place: neither holds a pointer for the collector to follow.
// An ID whose hash an earlier, different ID has is compared and kept
// apart, so the answer is exact, not probable.
type localIDs struct {
	hash  func(string) uint64
	first map[uint64]int32 // an ID's hash → the index of the first ID with it
	ids   []byte           // every ID, end to end
	ends  []int            // where each ID ends in ids
	lines []int64          // the line each ID was read on
	clash map[string]int64 // IDs whose hash an earlier, different ID had → line
}

func newLocalIDs() *localIDs {
	seed := maphash.MakeSeed()
	return &localIDs{hash: func(id string) uint64 { return maphash.String(seed, id) }, first: make(map[uint64]int32)}
}

// add records id, read on line. If id was read before, it is not recorded
// again: add returns the line it was first read on, and true.
func (s *localIDs) add(id string, line int64) (first int64, dup bool) {
	h := s.hash(id)
	i, ok := s.first[h]
	if !ok {
		s.first[h] = int32(len(s.ends))
		s.ids = append(s.ids, id...)
		s.ends = append(s.ends, len(s.ids))
		s.lines = append(s.lines, line)
		return 0, false
	}
	if string(s.bytes(i)) == id {
		return s.lines[i], true
	}
	if first, dup := s.clash[id]; dup {
		return first, true
	}
	if s.clash == nil {
		s.clash = make(map[string]int64)
	}
	s.clash[id] = line
	return 0, false
}

// bytes is the i'th ID recorded.
func (s *localIDs) bytes(i int32) []byte {
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.ids[start:s.ends[i]]
}
