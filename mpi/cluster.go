package mpi

import (
	"math"
	"sort"
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
func Cluster(n int, nhs []string, edges []Edge, con Constraints) *Clusters {
	parent := make([]int32, n+1)
	number := make([]string, n+1)
	for i := range parent {
		parent[i] = int32(i)
		if i < len(nhs) {
			number[i] = nhs[i]
		}
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	sorted := append([]Edge(nil), edges...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		if ra, rb := methodRank(a.Method), methodRank(b.Method); ra != rb {
			return ra < rb
		}
		if a.L != b.L {
			return a.L < b.L
		}
		return a.R < b.R
	})
	apart := map[int32]map[int32]bool{}
	mark := func(a, b int32) {
		if apart[a] == nil {
			apart[a] = map[int32]bool{}
		}
		apart[a][b] = true
	}
	for _, p := range con.Apart {
		if p[0] != p[1] {
			mark(p[0], p[1])
			mark(p[1], p[0])
		}
	}
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
	for _, e := range sorted {
		if e.Method != MethodAnalyst && (con.Detached[e.L] || con.Detached[e.R]) {
			continue
		}
		a, b := find(e.L), find(e.R)
		if a == b {
			decided(e.L, e)
			decided(e.R, e)
			continue
		}
		if e.Method != MethodAnalyst && number[a] != "" && number[b] != "" && number[a] != number[b] {
			c.Cut = append(c.Cut, e)
			continue
		}
		if apart[a][b] {
			c.Held = append(c.Held, e)
			continue
		}
		if b < a {
			a, b = b, a
		}
		parent[b] = a // the smaller rid is the root
		for x := range apart[b] {
			delete(apart[x], b)
			mark(x, a)
			mark(a, x)
		}
		delete(apart, b)
		if number[a] == "" {
			number[a] = number[b]
		}
		decided(e.L, e)
		decided(e.R, e)
	}
	for i := 1; i <= n; i++ {
		c.Root[i] = find(int32(i))
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
