package linkage

import (
	"math"
	"testing"
)

// emFixture is a pattern table made exactly from known parameters: three
// comparisons (a null level, then three of evidence), each pattern's count
// the expected number of pairs with it among n, plus pairs whose first
// comparison is null.
func emFixture(lambda float64, m, u [][]float64, n float64) (*Model, []pattern) {
	comps := make([]Comparison, len(m))
	for c := range comps {
		comps[c] = Comparison{Name: string(rune('a' + c)), Levels: []Level{{Label: "null", Null: true}, {Label: "exact"}, {Label: "close"}, {Label: "else"}}}
	}
	var pats []pattern
	var walk func(levels []int)
	walk = func(levels []int) {
		if len(levels) == len(comps) {
			pm, pu := lambda, 1-lambda
			for c, l := range levels {
				pm *= m[c][l]
				pu *= u[c][l]
			}
			pats = append(pats, pattern{levels: append([]int(nil), levels...), count: n * (pm + pu)})
			return
		}
		for l := 1; l < 4; l++ {
			walk(append(levels, l))
		}
	}
	walk(nil)
	// Pairs where the first comparison has no value (a tenth as many): the
	// null level says nothing, so they bear on the others alone.
	for l1 := 1; l1 < 4; l1++ {
		for l2 := 1; l2 < 4; l2++ {
			pm, pu := lambda*m[1][l1]*m[2][l2], (1-lambda)*u[1][l1]*u[2][l2]
			pats = append(pats, pattern{levels: []int{0, l1, l2}, count: n / 10 * (pm + pu)})
		}
	}
	model := &Model{Comparisons: comps, U: u, Lambda: 0.5}
	return model, pats
}

// EM recovers m and lambda from a pattern table made from them, with u held
// at its true value — from a start far from the answer.
func TestEMRecoversKnownParameters(t *testing.T) {
	lambda := 0.02
	m := [][]float64{{0, 0.90, 0.08, 0.02}, {0, 0.80, 0.15, 0.05}, {0, 0.95, 0.03, 0.02}}
	u := [][]float64{{0, 0.01, 0.04, 0.95}, {0, 0.05, 0.10, 0.85}, {0, 0.002, 0.018, 0.98}}
	model, pats := emFixture(lambda, m, u, 1e6)
	model.M = [][]float64{{0, 0.4, 0.3, 0.3}, {0, 0.4, 0.3, 0.3}, {0, 0.4, 0.3, 0.3}}
	model.em(pats, []bool{true, true, true}, 5000, 1e-12)
	if !model.Training.Converged {
		t.Fatalf("did not converge in %d iterations", model.Training.Iterations)
	}
	if math.Abs(model.Lambda-lambda) > 1e-4 {
		t.Errorf("lambda %.5f, want about %.5f", model.Lambda, lambda)
	}
	for c := range m {
		for l := 1; l < 4; l++ {
			if math.Abs(model.M[c][l]-m[c][l]) > 1e-3 {
				t.Errorf("m[%d][%d] = %.4f, want %.4f", c, l, model.M[c][l], m[c][l])
			}
		}
	}
}

// With no comparison free, EM fits lambda alone and leaves m as it was; a
// comparison held fixed (a training session's blocked one) is left out of
// the likelihood and keeps its m.
func TestEMHeldComparisons(t *testing.T) {
	lambda := 0.05
	m := [][]float64{{0, 0.90, 0.08, 0.02}, {0, 0.80, 0.15, 0.05}, {0, 0.95, 0.03, 0.02}}
	u := [][]float64{{0, 0.01, 0.04, 0.95}, {0, 0.05, 0.10, 0.85}, {0, 0.002, 0.018, 0.98}}
	model, pats := emFixture(lambda, m, u, 1e6)
	model.M = [][]float64{append([]float64(nil), m[0]...), append([]float64(nil), m[1]...), append([]float64(nil), m[2]...)}
	model.em(pats, nil, 5000, 1e-12)
	if math.Abs(model.Lambda-lambda) > 0.005 {
		t.Errorf("lambda alone: %.5f, want about %.5f", model.Lambda, lambda)
	}
	for c := range m {
		for l := range m[c] {
			if model.M[c][l] != m[c][l] {
				t.Fatalf("m moved with nothing free: m[%d][%d] = %v", c, l, model.M[c][l])
			}
		}
	}
	held := []float64{0, 0.5, 0.25, 0.25}
	model.M[0] = append([]float64(nil), held...)
	model.M[2] = []float64{0, 0.4, 0.3, 0.3}
	model.em(pats, []bool{false, true, true}, 5000, 1e-12)
	for l := range held {
		if model.M[0][l] != held[l] {
			t.Fatalf("a held comparison's m moved: %v", model.M[0])
		}
	}
	if math.Abs(model.M[2][1]-m[2][1]) > 0.01 {
		t.Errorf("free m[2][1] = %.4f, want about %.4f", model.M[2][1], m[2][1])
	}
}
