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
	nickOnce  sync.Once
	nicknames nameList
)

func loadNicknames() {
	nicknames = loadNameList(nicknamesCSV, "nickname", func(r []string) (string, string, bool) {
		return r[0], r[len(r)-1], len(r) == 3 && r[1] == "has_nickname"
	})
}

// nameList is a list of name pairs: each standardised name's partners in
// the list's order, and every pair in both orders.
type nameList struct {
	of  map[string][]string
	set map[[2]string]bool
}

// loadNameList reads an embedded CSV of name pairs (its first row a
// header); row picks a row's two names, or says to skip it. Names are
// standardised; a pair of one name, or with an empty side, is left out.
func loadNameList(data, what string, row func([]string) (a, b string, ok bool)) nameList {
	l := nameList{of: map[string][]string{}, set: map[[2]string]bool{}}
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		panic("rules: embedded " + what + " list: " + err.Error())
	}
	for _, r := range recs[1:] {
		x, y, ok := row(r)
		a, b := StandardiseName(x), StandardiseName(y)
		if !ok || a == "" || b == "" || a == b {
			continue
		}
		l.of[a] = append(l.of[a], b)
		l.set[[2]string{a, b}] = true
		l.set[[2]string{b, a}] = true
	}
	return l
}

// Nicknames returns the nicknames of a standardised forename (ROBERT → BOB,
// BOBBY, ROB, …), in the list's order. The slice must not be modified.
func Nicknames(name string) []string {
	nickOnce.Do(loadNicknames)
	return nicknames.of[name]
}

// AreNicknames reports whether two standardised forenames are a
// name/nickname pair in either direction.
func AreNicknames(a, b string) bool {
	nickOnce.Do(loadNicknames)
	return nicknames.set[[2]string{a, b}]
}

// NicknamePairs returns every name/nickname pair in both orders, sorted.
func NicknamePairs() [][2]string {
	nickOnce.Do(loadNicknames)
	return sortedPairs(nicknames.set)
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
