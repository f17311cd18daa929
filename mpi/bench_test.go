package mpi

import (
	"fmt"
	"math"
	"testing"
)

// BenchmarkCluster clusters a million records in pairs and threes, most of
// them with an NHS number (every tenth pair's two different: a link
// refused), as a night of that size hands clustering its links.
func BenchmarkCluster(b *testing.B) {
	const n = 1_000_000
	nhs := make([]string, n+1)
	var edges []Edge
	for r := int32(1); r+2 <= n; r += 3 {
		for i := range int32(3) {
			if (r+i)%4 != 0 {
				nhs[r+i] = fmt.Sprintf("94%08d", r)
			}
		}
		if r%30 == 1 {
			nhs[r+1] = fmt.Sprintf("95%08d", r)
		}
		edges = append(edges, Edge{L: r, R: r + 1, Method: MethodProbabilistic, Weight: 12}, Edge{L: r + 1, R: r + 2, Method: MethodNHSNumber, Weight: 20})
	}
	b.ReportAllocs()
	for b.Loop() {
		Cluster(n, nhs, edges, Constraints{})
	}
}

// BenchmarkStrongestFirst sorts a million links in the order clustering
// takes them: NHS-number links (all of one weight) and scored links of
// varied weight, shuffled.
func BenchmarkStrongestFirst(b *testing.B) {
	const n = 1_000_000
	edges := make([]Edge, n)
	state := uint64(7)
	for i := range edges {
		state = state*6364136223846793005 + 1442695040888963407
		e := Edge{L: int32(state >> 40), R: int32(state>>40) + 1, Method: MethodProbabilistic, Weight: float64(state>>52) / 100}
		if i%2 == 0 {
			e.Method, e.Weight = MethodNHSNumber, math.Inf(1)
		}
		edges[i] = e
	}
	work := make([]Edge, n)
	for b.Loop() {
		copy(work, edges)
		strongestFirst(work)
	}
}
