package mpi

import (
	"maps"
	"testing"

	"github.com/selondon/carematch/linkage"
)

// A person is chained when it holds a pair below the review band, and its
// weakest such pair is reported; pairs across two persons do not count.
func TestWeakestInside(t *testing.T) {
	// Records 1–3 are one person (root 1), 4 and 5 another (root 4), 6 alone.
	c := &Clusters{Root: []int32{0, 1, 1, 1, 4, 4, 6}}
	for _, tc := range []struct {
		name  string
		below []linkage.ScoredPair
		want  map[int32]float64
	}{
		{"none", nil, map[int32]float64{}},
		{"across persons only", []linkage.ScoredPair{{L: 1, R: 4, Weight: -9}, {L: 3, R: 6, Weight: -7}}, map[int32]float64{}},
		{"the weakest of two", []linkage.ScoredPair{{L: 1, R: 3, Weight: -5}, {L: 2, R: 3, Weight: -8}}, map[int32]float64{1: -8}},
		{"two persons", []linkage.ScoredPair{{L: 1, R: 2, Weight: -6}, {L: 4, R: 5, Weight: -4.5}, {L: 2, R: 5, Weight: -20}}, map[int32]float64{1: -6, 4: -4.5}},
	} {
		if got := weakestInside(c, tc.below); !maps.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
