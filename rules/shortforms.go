package rules

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// The short-form list (data/short_forms.csv, its note beside it) holds
// given names of the region's communities and the short forms people use
// for them. Short forms are no evidence of twins: parents seldom name twins
// so that one name is a short form of the other's.
//
//go:embed data/short_forms.csv
var shortFormsCSV string

// Short forms found by rule: the shorter name is at least
// ShortFormMinLength letters and the longer one at least ShortFormMinExtra
// letters longer, and it starts or ends the longer one.
const (
	ShortFormMinLength = 3
	ShortFormMinExtra  = 2
)

var (
	shortOnce  sync.Once
	shortForms nameList
)

func loadShortForms() {
	shortForms = loadNameList(shortFormsCSV, "short-form", func(r []string) (string, string, bool) {
		return r[0], r[1], len(r) >= 2
	})
}

// ShortForms returns the listed short forms of a standardised given name
// (OLUWASEUN → SEUN, KATARZYNA → KASIA), in the list's order. The slice must
// not be modified.
func ShortForms(name string) []string {
	shortOnce.Do(loadShortForms)
	return shortForms.of[name]
}

// IsShortForm reports whether one of two standardised given names is a
// short form of the other: a listed pair, or the start or end of the
// longer name (see ShortFormMinLength). It is the Go twin of the
// comparison level "short form" (linkage), and a test holds them equal.
func IsShortForm(a, b string) bool {
	if a == "" || b == "" || a == b {
		return false
	}
	shortOnce.Do(loadShortForms)
	if shortForms.set[[2]string{a, b}] {
		return true
	}
	s, l := a, b
	if utf8.RuneCountInString(s) > utf8.RuneCountInString(l) {
		s, l = l, s
	}
	ns := utf8.RuneCountInString(s)
	return ns >= ShortFormMinLength && utf8.RuneCountInString(l) >= ns+ShortFormMinExtra &&
		(strings.HasPrefix(l, s) || strings.HasSuffix(l, s))
}

// ShortFormPairs returns every listed pair in both orders, sorted: the
// table the comparison level joins.
func ShortFormPairs() [][2]string {
	shortOnce.Do(loadShortForms)
	return sortedPairs(shortForms.set)
}
