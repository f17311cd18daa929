package mpi

import (
	"math"
	"math/rand/v2"
	"reflect"
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
