package mpi

import (
	"cmp"
	"math"
	"slices"
)

// Link methods, as published in xref.link_method.
const (
	MethodNHSNumber     = "nhs_number"
	MethodProbabilistic = "probabilistic"
	MethodAnalyst       = "analyst"
	MethodSingleton     = "singleton"
)

// Edge is a link between two records (by rid, 1-based).
type Edge struct {
	L, R   int32
	Method string
	Weight float64 // +Inf for deterministic links
}

// Clusters is the outcome of clustering n records.
type Clusters struct {
	Root   []int32   // Root[rid] is the smallest rid of the record's person
	Method []string  // how each record joined its person
	Weight []float64 // the weight of the link that did it (NaN for none or deterministic)
	Cut    []Edge    // links refused because they would join two different NHS numbers
	Held   []Edge    // links refused because an analyst said the two are not one person
	// Chain holds the probabilistic links refused because the person they
	// would make does not hang together: two of its records are a clear
	// non-match, or it would pass the size limit.
	Chain []Refused
}

// Refused is a probabilistic link clustering refused to keep a person
// coherent, and why.
type Refused struct {
	Edge
	// Against is a pair of records, one each side of the link, that score
	// below the review band (both 0 when the link was refused for size).
	Against [2]int32
	// Size is the person's size the link would have made, when it was
	// refused for that.
	Size int
}

// Constraints are analysts' decisions, and what keeps a person coherent, as
// clustering sees them.
type Constraints struct {
	Apart    [][2]int32     // no_link: these two records' persons never join
	Detached map[int32]bool // detach: no machine link touches these records
	// NonMatch are pairs of records that score below the review band: no
	// probabilistic link may put both in one person (an NHS-number or an
	// analyst's link may: they come first).
	NonMatch [][2]int32
	// MaxSize, when above 0, is the most records a probabilistic link may
	// make a person of.
	MaxSize int
}

// methodRank orders links of equal weight: an analyst's first.
func methodRank(m string) int {
	if m == MethodAnalyst {
		return 0
	}
	return 1
}

// Cluster groups records 1..n (nhs[rid] is the record's valid NHS number or
// "") along edges, strongest first: analysts' links, then NHS-number links,
// then by weight. It never joins two different numbers (except by an
// analyst's link) and never joins an apart pair, directly or through others.
// It sorts edges in place (a copy of millions of edges was a tenth of a
// gigabyte at two million records).
func Cluster(n int, nhs []string, edges []Edge, con Constraints) *Clusters {
	u := newPersons(n, nhs, con.Apart, con.NonMatch)
	c := &Clusters{Root: make([]int32, n+1), Method: make([]string, n+1), Weight: make([]float64, n+1)}
	for i := range c.Weight {
		c.Weight[i] = math.NaN()
	}
	decided := func(rid int32, e Edge) {
		if c.Method[rid] == "" {
			c.Method[rid] = e.Method
			if !math.IsInf(e.Weight, 1) {
				c.Weight[rid] = e.Weight
			}
		}
	}
	strongestFirst(edges)
	for _, e := range edges {
		if e.Method != MethodAnalyst && (con.Detached[e.L] || con.Detached[e.R]) {
			continue
		}
		a, b := u.find(e.L), u.find(e.R)
		switch {
		case a == b:
		case e.Method != MethodAnalyst && u.numbersDiffer(a, b):
			c.Cut = append(c.Cut, e)
			continue
		case u.apart.has(a, b):
			c.Held = append(c.Held, e)
			continue
		case e.Method == MethodProbabilistic && u.against.has(a, b):
			c.Chain = append(c.Chain, Refused{Edge: e, Against: u.witness(a, b)})
			continue
		case e.Method == MethodProbabilistic && con.MaxSize > 0 && u.size[a]+u.size[b] > int32(con.MaxSize):
			c.Chain = append(c.Chain, Refused{Edge: e, Size: int(u.size[a] + u.size[b])})
			continue
		default:
			u.join(a, b)
		}
		decided(e.L, e)
		decided(e.R, e)
	}
	for i := 1; i <= n; i++ {
		c.Root[i] = u.find(int32(i))
		if c.Method[i] == "" {
			c.Method[i] = MethodSingleton
		}
	}
	// A record in a person of one is a singleton, whatever edges it had.
	size := make([]int32, n+1)
	for i := 1; i <= n; i++ {
		size[c.Root[i]]++
	}
	for i := 1; i <= n; i++ {
		if size[c.Root[i]] == 1 {
			c.Method[i], c.Weight[i] = MethodSingleton, math.NaN()
		}
	}
	return c
}

// strongestFirst sorts edges in the order links are taken in: by weight,
// an analyst's first among equals, then by record (on two cores:
// sortInParts). Edges equal in the order are equal in every field, so any
// sort gives the same slice. Clustering runs in rounds (coherent.go) over
// the same edges: sorted once, they are checked, not sorted again.
func strongestFirst(edges []Edge) {
	if !slices.IsSortedFunc(edges, edgeOrder) {
		sortInParts(edges, edgeOrder)
	}
}

// edgeOrder is the order links are taken in: the stronger first, an
// analyst's before others of its weight, then by the records. Each key is
// compared only when the ones before it tie (cmp.Or would compute them all,
// two method names' ranks for every comparison of a sort of millions).
func edgeOrder(a, b Edge) int {
	if c := cmp.Compare(b.Weight, a.Weight); c != 0 {
		return c
	}
	if a.Method != b.Method {
		if c := cmp.Compare(methodRank(a.Method), methodRank(b.Method)); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.L, b.L); c != 0 {
		return c
	}
	return cmp.Compare(a.R, b.R)
}

// persons is a union–find over records: each person's root (its smallest
// rid), its size, its valid NHS number, the persons it must stay apart from
// (analysts' no_link) and those it holds a clear non-match with.
type persons struct {
	parent []int32
	size   []int32
	// holder is, for each root, one of its records that has a valid NHS
	// number (0: none), whose number is nhs[holder]: an index into the
	// caller's numbers, not a copy of them (at ten million records a copy
	// was 160 MB of string headers for the collector to scan, each time
	// clustering ran).
	holder  []int32
	nhs     []string
	apart   marks
	against marks
	// pairs keeps each non-match pair by its records, to name one when a
	// link is refused.
	pairs map[[2]int32]bool
	// members lists each root's records while it has non-match marks, to
	// find the pair that refused a link.
	members map[int32][]int32
}

func newPersons(n int, nhs []string, apart, nonMatch [][2]int32) *persons {
	u := &persons{parent: make([]int32, n+1), size: make([]int32, n+1), holder: make([]int32, n+1), nhs: nhs,
		apart: marks{}, against: marks{}, pairs: map[[2]int32]bool{}, members: map[int32][]int32{}}
	for i := range u.parent {
		u.parent[i] = int32(i)
		u.size[i] = 1
		if i > 0 && i < len(nhs) && nhs[i] != "" {
			u.holder[i] = int32(i)
		}
	}
	for _, p := range apart {
		u.apart.pair(p[0], p[1])
	}
	for _, p := range nonMatch {
		if p[0] != p[1] {
			u.against.pair(p[0], p[1])
			u.pairs[[2]int32{min(p[0], p[1]), max(p[0], p[1])}] = true
			u.members[p[0]], u.members[p[1]] = []int32{p[0]}, []int32{p[1]}
		}
	}
	return u
}

func (u *persons) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

// join makes persons a and b one, rooted at the smaller rid; it carries the
// size, the number and the marks.
func (u *persons) join(a, b int32) {
	if b < a {
		a, b = b, a
	}
	u.parent[b] = a
	u.size[a] += u.size[b]
	u.apart.merge(a, b)
	u.against.merge(a, b)
	if mb, ok := u.members[b]; ok {
		u.members[a] = append(u.members[a], mb...)
		delete(u.members, b)
	}
	if u.holder[a] == 0 {
		u.holder[a] = u.holder[b]
	}
}

// numbersDiffer says whether persons a and b (roots) both have a valid NHS
// number and the two differ.
func (u *persons) numbersDiffer(a, b int32) bool {
	ha, hb := u.holder[a], u.holder[b]
	return ha != 0 && hb != 0 && u.nhs[ha] != u.nhs[hb]
}

// witness names a non-match pair between persons a and b, the lower first.
func (u *persons) witness(a, b int32) [2]int32 {
	best := [2]int32{}
	for _, x := range u.members[a] {
		for _, y := range u.members[b] {
			p := [2]int32{min(x, y), max(x, y)}
			if u.pairs[p] && (best[0] == 0 || p[0] < best[0] || p[0] == best[0] && p[1] < best[1]) {
				best = p
			}
		}
	}
	return best
}

// marks are symmetric marks between persons, kept on their roots.
type marks map[int32]map[int32]bool

func (m marks) has(a, b int32) bool { return m[a][b] }

func (m marks) pair(a, b int32) {
	if a != b {
		m.mark(a, b)
		m.mark(b, a)
	}
}

func (m marks) mark(a, b int32) {
	if m[a] == nil {
		m[a] = map[int32]bool{}
	}
	m[a][b] = true
}

// merge moves b's marks to a, b having joined a.
func (m marks) merge(a, b int32) {
	for x := range m[b] {
		delete(m[x], b)
		if x == a {
			continue
		}
		m.mark(x, a)
		m.mark(a, x)
	}
	delete(m, b)
}
