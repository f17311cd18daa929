package rules

import (
	_ "embed"
	"encoding/csv"
	"sort"
	"strings"
	"sync"
)

// The nickname list is the public forename → nickname list in data/
// (Apache-2.0, licence beside it). It is US-biased and one-directional, so
// carematch treats a pair found in either direction as weak evidence.
//
//go:embed data/nicknames.csv
var nicknamesCSV string

var (
	nickOnce sync.Once
	nickOf   map[string][]string // standardised name → nicknames
	nickSet  map[[2]string]bool  // unordered pairs, both orders stored
)

func loadNicknames() {
	nickOf = map[string][]string{}
	nickSet = map[[2]string]bool{}
	recs, err := csv.NewReader(strings.NewReader(nicknamesCSV)).ReadAll()
	if err != nil {
		panic("rules: embedded nickname list: " + err.Error())
	}
	for _, r := range recs[1:] {
		if len(r) != 3 || r[1] != "has_nickname" {
			continue
		}
		a, b := StandardiseName(r[0]), StandardiseName(r[2])
		if a == "" || b == "" || a == b {
			continue
		}
		nickOf[a] = append(nickOf[a], b)
		nickSet[[2]string{a, b}] = true
		nickSet[[2]string{b, a}] = true
	}
}

// Nicknames returns the nicknames of a standardised forename (ROBERT → BOB,
// BOBBY, ROB, …), in the list's order. The slice must not be modified.
func Nicknames(name string) []string {
	nickOnce.Do(loadNicknames)
	return nickOf[name]
}

// AreNicknames reports whether two standardised forenames are a
// name/nickname pair in either direction.
func AreNicknames(a, b string) bool {
	nickOnce.Do(loadNicknames)
	return nickSet[[2]string{a, b}]
}

// NicknamePairs returns every name/nickname pair in both orders, sorted.
func NicknamePairs() [][2]string {
	nickOnce.Do(loadNicknames)
	return sortedPairs(nickSet)
}

// sortedPairs lists a set of name pairs, sorted.
func sortedPairs(set map[[2]string]bool) [][2]string {
	out := make([][2]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}
