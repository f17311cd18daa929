package mpi

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestClusterNeverJoinsTwoNumbers(t *testing.T) {
	inf := math.Inf(1)
	// 1,2 share number A; 3 has B; 4 has none. 2-3 is a strong probabilistic
	// link, 1-4 and 3-4 weaker.
	nhs := []string{"", "A", "A", "B", ""}
	edges := []Edge{
		{1, 2, MethodNHSNumber, inf},
		{2, 3, MethodProbabilistic, 20},
		{3, 4, MethodProbabilistic, 15},
		{1, 4, MethodProbabilistic, 12},
	}
	c := Cluster(4, nhs, edges, Constraints{})
	if c.Root[1] != 1 || c.Root[2] != 1 || c.Root[3] != 3 || c.Root[4] != 3 {
		t.Errorf("roots %v", c.Root)
	}
	if len(c.Cut) != 2 || c.Cut[0].Weight != 20 || c.Cut[1].Weight != 12 {
		t.Errorf("cut %v", c.Cut)
	}
	wantMethod := []string{"", MethodNHSNumber, MethodNHSNumber, MethodProbabilistic, MethodProbabilistic}
	if !reflect.DeepEqual(c.Method, wantMethod) {
		t.Errorf("methods %v", c.Method)
	}
	if c.Weight[3] != 15 || !math.IsNaN(c.Weight[1]) {
		t.Errorf("weights %v", c.Weight)
	}
}

func TestClusterSingletons(t *testing.T) {
	c := Cluster(3, nil, []Edge{{1, 2, MethodProbabilistic, 11}}, Constraints{})
	if c.Method[3] != MethodSingleton || c.Root[3] != 3 || c.Method[1] != MethodProbabilistic {
		t.Errorf("%+v", c)
	}
}

// The same edges in any order give the same clusters.
func TestClusterOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 200
	nhs := make([]string, n+1)
	for i := 1; i <= n; i++ {
		if r.IntN(3) == 0 {
			nhs[i] = string(rune('A' + r.IntN(20)))
		}
	}
	var edges []Edge
	for k := 0; k < 600; k++ {
		a, b := int32(1+r.IntN(n)), int32(1+r.IntN(n))
		if a == b {
			continue
		}
		if a > b {
			a, b = b, a
		}
		edges = append(edges, Edge{a, b, MethodProbabilistic, float64(r.IntN(30))})
	}
	first := Cluster(n, nhs, edges, Constraints{})
	for trial := 0; trial < 5; trial++ {
		r.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
		again := Cluster(n, nhs, edges, Constraints{})
		if !reflect.DeepEqual(first.Root, again.Root) || !reflect.DeepEqual(first.Method, again.Method) {
			t.Fatal("clusters depend on edge order")
		}
	}
	// And no person holds two numbers.
	held := map[int32]string{}
	for i := 1; i <= n; i++ {
		if nhs[i] == "" {
			continue
		}
		if h, ok := held[first.Root[i]]; ok && h != nhs[i] {
			t.Fatalf("person %d holds %s and %s", first.Root[i], h, nhs[i])
		}
		held[first.Root[i]] = nhs[i]
	}
}

// Analysts' decisions: a link joins even two different numbers; no_link
// keeps apart even records sharing a number, directly or through others;
// detach leaves a record alone.
func TestClusterDecisions(t *testing.T) {
	inf := math.Inf(1)
	nhs := []string{"", "A", "A", "B", "", ""}
	edges := []Edge{
		{1, 2, MethodNHSNumber, inf},    // same number
		{3, 4, MethodProbabilistic, 12}, //
		{2, 4, MethodProbabilistic, 11}, // would join 1-2 with 3-4: numbers differ, cut
		{4, 5, MethodProbabilistic, 20}, // 5 is detached
	}
	c := Cluster(5, nhs, edges, Constraints{
		Apart:    [][2]int32{{1, 2}},
		Detached: map[int32]bool{5: true},
	})
	if c.Root[1] == c.Root[2] {
		t.Error("no_link did not keep records with one NHS number apart")
	}
	if c.Root[5] != 5 || c.Method[5] != MethodSingleton {
		t.Errorf("detached record: root %d method %s", c.Root[5], c.Method[5])
	}
	edges = append(edges, Edge{1, 3, MethodAnalyst, inf})
	c = Cluster(5, nhs, edges, Constraints{})
	if c.Root[1] != c.Root[3] || c.Method[3] != MethodAnalyst {
		t.Errorf("an analyst's link across two numbers: roots %v methods %v", c.Root, c.Method)
	}
}

// A person must hang together: a probabilistic link that would put two
// records scoring below the review band in one person is refused and kept
// as a chain link, whichever side of it they are; an NHS-number link is
// not refused, and neither is a probabilistic link inside one person.
func TestClusterRefusesChains(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name    string
		nhs     []string
		edges   []Edge
		con     Constraints
		roots   []int32
		refused []Refused
	}{
		{name: "a chain of four: the weakest bridge is refused",
			edges: []Edge{{1, 2, MethodProbabilistic, 19}, {3, 4, MethodProbabilistic, 18}, {2, 3, MethodProbabilistic, 5}},
			con:   Constraints{NonMatch: [][2]int32{{1, 4}, {2, 4}}},
			roots: []int32{0, 1, 1, 3, 3}, refused: []Refused{{Edge: Edge{2, 3, MethodProbabilistic, 5}, Against: [2]int32{1, 4}}}},
		{name: "the non-match is inside one side, joined by a number: nothing to refuse",
			nhs:   []string{"", "A", "A", ""},
			edges: []Edge{{1, 2, MethodNHSNumber, inf}, {2, 3, MethodProbabilistic, 5}},
			con:   Constraints{NonMatch: [][2]int32{{1, 2}}},
			roots: []int32{0, 1, 1, 1}},
		{name: "a verified number joins them: the NHS link is taken",
			nhs:   []string{"", "A", "", "A"},
			edges: []Edge{{1, 3, MethodNHSNumber, inf}, {1, 2, MethodProbabilistic, 9}},
			con:   Constraints{NonMatch: [][2]int32{{1, 3}, {2, 3}}},
			roots: []int32{0, 1, 2, 1}, refused: []Refused{{Edge: Edge{1, 2, MethodProbabilistic, 9}, Against: [2]int32{2, 3}}}},
		{name: "an analyst's link is taken",
			edges: []Edge{{1, 2, MethodAnalyst, inf}},
			con:   Constraints{NonMatch: [][2]int32{{1, 2}}},
			roots: []int32{0, 1, 1}},
		{name: "over-large: the link that would pass the size is refused",
			edges: []Edge{{1, 2, MethodProbabilistic, 20}, {2, 3, MethodProbabilistic, 19}, {3, 4, MethodProbabilistic, 18}},
			con:   Constraints{MaxSize: 3},
			roots: []int32{0, 1, 1, 1, 4}, refused: []Refused{{Edge: Edge{3, 4, MethodProbabilistic, 18}, Size: 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Cluster(len(tc.roots)-1, tc.nhs, tc.edges, tc.con)
			if !reflect.DeepEqual(c.Root, tc.roots) {
				t.Errorf("roots %v, want %v", c.Root, tc.roots)
			}
			if !reflect.DeepEqual(c.Chain, tc.refused) {
				t.Errorf("refused %+v, want %+v", c.Chain, tc.refused)
			}
		})
	}
}

// Clustering again only the components that hold a new non-match gives
// what clustering everything again gives: clusters, refused links and their
// order.
func TestReclusterEqualsFull(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 400
	nhs := make([]string, n+1)
	for i := 1; i <= n; i++ {
		if r.IntN(4) == 0 {
			nhs[i] = string(rune('A' + r.IntN(30)))
		}
	}
	var edges []Edge
	for range 700 {
		a, b := int32(1+r.IntN(n)), int32(1+r.IntN(n))
		if a != b {
			edges = append(edges, Edge{min(a, b), max(a, b), MethodProbabilistic, float64(r.IntN(40))})
		}
	}
	nonMatch := func(k int) [][2]int32 {
		var out [][2]int32
		for range k {
			out = append(out, [2]int32{int32(1 + r.IntN(n)), int32(1 + r.IntN(n))})
		}
		return out
	}
	con := Constraints{NonMatch: nonMatch(40), MaxSize: 6}
	c := Cluster(n, nhs, edges, con)
	comp := components(n, edges)
	added := nonMatch(30)
	affected := map[int32]bool{}
	for _, p := range added {
		affected[comp[p[0]]] = true
	}
	con.NonMatch = append(con.NonMatch, added...)
	got := recluster(c, n, nhs, edges, con, comp, affected)
	want := Cluster(n, nhs, edges, con)
	if !reflect.DeepEqual(got.Root, want.Root) || !reflect.DeepEqual(got.Method, want.Method) {
		t.Error("persons differ from clustering everything again")
	}
	if !reflect.DeepEqual(got.Cut, want.Cut) || !reflect.DeepEqual(got.Chain, want.Chain) {
		t.Errorf("refused links differ: cut %d/%d, chain %d/%d", len(got.Cut), len(want.Cut), len(got.Chain), len(want.Chain))
	}
	if len(want.Chain) == 0 || len(affected) == 0 {
		t.Error("the case refuses no link")
	}
}

// TestStrongestFirstInParts: edges over sortInPartsFrom, sorted in two
// parts, come out as one sort puts them, whatever their weights' ties and
// order.
func TestStrongestFirstInParts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := sortInPartsFrom*2 + 17
	cases := map[string]func(i int) Edge{
		"varied": func(i int) Edge {
			return Edge{int32(r.IntN(n)), int32(r.IntN(n)), MethodProbabilistic, float64(r.IntN(5000)) / 100}
		},
		"few weights, methods mixed": func(i int) Edge {
			m := []string{MethodNHSNumber, MethodProbabilistic, MethodAnalyst}[r.IntN(3)]
			w := float64(r.IntN(3))
			if m == MethodNHSNumber {
				w = math.Inf(1)
			}
			return Edge{int32(r.IntN(n)), int32(r.IntN(n)), m, w}
		},
		"one weight, repeated edges": func(i int) Edge {
			return Edge{int32(r.IntN(50)), int32(r.IntN(50)), MethodProbabilistic, 12}
		},
		"sorted backwards": func(i int) Edge {
			return Edge{int32(i), int32(i + 1), MethodProbabilistic, float64(i)}
		},
	}
	for name, edge := range cases {
		t.Run(name, func(t *testing.T) {
			edges := make([]Edge, n)
			for i := range edges {
				edges[i] = edge(i)
			}
			want := slices.Clone(edges)
			slices.SortFunc(want, edgeOrder)
			// The parts are both sizeable: each is a core's work.
			if mid := partAround(slices.Clone(edges), edgeOrder); mid < n/4 || mid > n*3/4 {
				t.Errorf("parts of %d and %d edges", mid, n-mid)
			}
			strongestFirst(edges)
			if !slices.Equal(edges, want) {
				t.Fatal("the edges sorted in parts differ from one sort")
			}
		})
	}
}
