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
}

// Constraints are analysts' decisions as clustering sees them.
type Constraints struct {
	Apart    [][2]int32     // no_link: these two records' persons never join
	Detached map[int32]bool // detach: no machine link touches these records
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
	u := newPersons(n, nhs, con.Apart)
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
		case e.Method != MethodAnalyst && u.number[a] != "" && u.number[b] != "" && u.number[a] != u.number[b]:
			c.Cut = append(c.Cut, e)
			continue
		case u.apart[a][b]:
			c.Held = append(c.Held, e)
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
	size := make(map[int32]int)
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
// an analyst's first among equals, then by record.
func strongestFirst(edges []Edge) {
	slices.SortFunc(edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(b.Weight, a.Weight), cmp.Compare(methodRank(a.Method), methodRank(b.Method)),
			cmp.Compare(a.L, b.L), cmp.Compare(a.R, b.R))
	})
}

// persons is a union–find over records: each person's root (its smallest
// rid), its valid NHS number, and the persons it must stay apart from.
type persons struct {
	parent []int32
	number []string
	apart  map[int32]map[int32]bool
}

func newPersons(n int, nhs []string, apart [][2]int32) *persons {
	u := &persons{parent: make([]int32, n+1), number: make([]string, n+1), apart: map[int32]map[int32]bool{}}
	for i := range u.parent {
		u.parent[i] = int32(i)
		if i < len(nhs) {
			u.number[i] = nhs[i]
		}
	}
	for _, p := range apart {
		if p[0] != p[1] {
			u.mark(p[0], p[1])
			u.mark(p[1], p[0])
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

func (u *persons) mark(a, b int32) {
	if u.apart[a] == nil {
		u.apart[a] = map[int32]bool{}
	}
	u.apart[a][b] = true
}

// join makes persons a and b one, rooted at the smaller rid; it carries the
// number and the apart marks.
func (u *persons) join(a, b int32) {
	if b < a {
		a, b = b, a
	}
	u.parent[b] = a
	for x := range u.apart[b] {
		delete(u.apart[x], b)
		u.mark(x, a)
		u.mark(a, x)
	}
	delete(u.apart, b)
	if u.number[a] == "" {
		u.number[a] = u.number[b]
	}
}
