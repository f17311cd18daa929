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
}

// Cluster groups records 1..n (nhs[rid] is the record's valid NHS number or
// "") along edges, strongest first, never joining two different numbers.
func Cluster(n int, nhs []string, edges []Edge) *Clusters {
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
		if a.L != b.L {
			return a.L < b.L
		}
		return a.R < b.R
	})
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
		a, b := find(e.L), find(e.R)
		if a == b {
			decided(e.L, e)
			decided(e.R, e)
			continue
		}
		if number[a] != "" && number[b] != "" && number[a] != number[b] {
			c.Cut = append(c.Cut, e)
			continue
		}
		if b < a {
			a, b = b, a
		}
		parent[b] = a // the smaller rid is the root
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
