package mpi

import (
	"math"
	"slices"
	"testing"

	"github.com/selondon/carematch/linkage"
)

// sigInputs are one night's inputs to clustering, for componentSigs.
type sigInputs struct {
	n      int
	nhs    []string
	edges  []Edge
	within []linkage.ScoredPair
	con    Constraints
}

// sigNight is seven records: {1, 2, 3} linked by a shared number and a
// probabilistic link, with a clear non-match inside; {4, 5} linked and kept
// apart by an analyst; 6 and 7 alone.
func sigNight() sigInputs {
	return sigInputs{
		n:   7,
		nhs: []string{"", "4010232137", "4010232137", "", "", "", "", ""},
		edges: []Edge{{1, 2, MethodNHSNumber, math.Inf(1)}, {2, 3, MethodProbabilistic, 12.5},
			{4, 5, MethodProbabilistic, 9}},
		within: []linkage.ScoredPair{{L: 1, R: 3, Weight: -8}, {L: 2, R: 3, Weight: 12.5}, {L: 4, R: 5, Weight: 9}},
		con:    Constraints{Apart: [][2]int32{{4, 5}}, Detached: map[int32]bool{}},
	}
}

func (in sigInputs) sigs(id func(int32) uint64) (comp []int32, sig []uint64) {
	comp = components(in.n, in.edges)
	return comp, componentSigs(in.n, comp, id, in.nhs, in.edges, in.within, in.con)
}

func ownRid(r int32) uint64 { return uint64(r) }

// Each input clustering reads changes the signature of its component and
// of no other.
func TestComponentSigsSeeEveryInput(t *testing.T) {
	comp, base := sigNight().sigs(ownRid)
	for _, tc := range []struct {
		name    string
		change  func(*sigInputs)
		changed []int32 // the components (by a record) whose signature changes
	}{
		{"an NHS number", func(in *sigInputs) { in.nhs[3] = "6000000006" }, []int32{3}},
		{"a record detached", func(in *sigInputs) { in.con.Detached[6] = true }, []int32{6}},
		{"a link's weight", func(in *sigInputs) { in.edges[1].Weight = 12.6 }, []int32{1}},
		{"a link's method", func(in *sigInputs) { in.edges[1].Method = MethodAnalyst }, []int32{1}},
		{"a link twice", func(in *sigInputs) { in.edges = append(in.edges, in.edges[2]) }, []int32{4}},
		{"a non-match's weight", func(in *sigInputs) { in.within[0].Weight = -7 }, []int32{1}},
		{"a pair scored", func(in *sigInputs) { in.within = append(in.within, linkage.ScoredPair{L: 1, R: 2, Weight: 30}) }, []int32{2}},
		{"a no_link inside", func(in *sigInputs) { in.con.Apart = append(in.con.Apart, [2]int32{1, 3}) }, []int32{1}},
		{"a no_link between components", func(in *sigInputs) { in.con.Apart = append(in.con.Apart, [2]int32{6, 7}) }, nil},
		{"a no_link the other way round", func(in *sigInputs) { in.con.Apart[0] = [2]int32{5, 4} }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sigNight()
			tc.change(&in)
			c, got := in.sigs(ownRid)
			if !slices.Equal(c, comp) {
				t.Fatalf("components %v, want %v", c, comp)
			}
			for r := int32(1); r <= 7; r++ {
				want := slices.ContainsFunc(tc.changed, func(x int32) bool { return comp[x] == comp[r] })
				if moved := got[comp[r]] != base[comp[r]]; moved != want {
					t.Errorf("record %d's component: signature changed %v, want %v", r, moved, want)
				}
			}
		})
	}
}

// A night that numbers the same records differently (a new record sorts
// before them all, another between 3 and 4) finds last night's signatures
// when it names each record by last night's rid.
func TestComponentSigsFollowRecordsAcrossNights(t *testing.T) {
	last := sigNight()
	_, lastSig := last.sigs(ownRid)
	// Tonight's rid of last night's record r, and back.
	now := []int32{0, 2, 3, 4, 6, 7, 8, 9}
	prev := make([]int32, 10)
	for r, x := range now {
		prev[x] = int32(r)
	}
	tonight := sigInputs{n: 9, nhs: make([]string, 10), con: Constraints{Detached: map[int32]bool{}}}
	for r, num := range last.nhs {
		tonight.nhs[now[r]] = num
	}
	for _, e := range last.edges {
		tonight.edges = append(tonight.edges, Edge{now[e.L], now[e.R], e.Method, e.Weight})
	}
	for _, p := range last.within {
		tonight.within = append(tonight.within, linkage.ScoredPair{L: now[p.L], R: now[p.R], Weight: p.Weight})
	}
	for _, p := range last.con.Apart {
		tonight.con.Apart = append(tonight.con.Apart, [2]int32{now[p[0]], now[p[1]]})
	}
	comp, sig := tonight.sigs(func(r int32) uint64 { return uint64(prev[r]) })
	lastComp := components(last.n, last.edges)
	for r := int32(1); r <= 7; r++ {
		if sig[comp[now[r]]] != lastSig[lastComp[r]] {
			t.Errorf("record %d (tonight %d): its component's signature is not last night's", r, now[r])
		}
	}
	if _, own := tonight.sigs(ownRid); own[comp[now[1]]] == lastSig[lastComp[1]] {
		t.Error("by tonight's rids the renumbered component has last night's signature")
	}
}
