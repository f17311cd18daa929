package linkage

import (
	"math"
)

// pattern is one distinct comparison vector and how many pairs have it.
type pattern struct {
	levels []int
	count  float64
}

// em fits lambda, and m for the comparisons free marks (nil: none), by
// expectation–maximisation over the patterns, with u held fixed (it is
// estimated from random pairs, which EM cannot improve on). It stops when no
// estimate moves by more than tol, or after maxIter rounds.
func (m *Model) em(pats []pattern, free []bool, maxIter int, tol float64) {
	nc := len(m.Comparisons)
	for it := 1; it <= maxIter; it++ {
		num := make([][]float64, nc)
		den := make([]float64, nc)
		for c := range num {
			num[c] = make([]float64, len(m.M[c]))
		}
		var matchSum, total float64
		for _, p := range pats {
			lm, lu := math.Log(m.Lambda), math.Log(1-m.Lambda)
			for c, l := range p.levels {
				// In a training session the comparisons its blocking rule
				// fixed agree by construction: they say nothing and are left
				// out of the likelihood.
				if m.Comparisons[c].Levels[l].Null || (free != nil && !free[c]) {
					continue
				}
				lm += math.Log(m.M[c][l])
				lu += math.Log(m.U[c][l])
			}
			// Posterior probability of a match, computed stably.
			w := 1 / (1 + math.Exp(lu-lm))
			matchSum += w * p.count
			total += p.count
			for c, l := range p.levels {
				if m.Comparisons[c].Levels[l].Null || (free != nil && !free[c]) {
					continue
				}
				num[c][l] += w * p.count
				den[c] += w * p.count
			}
		}
		if total == 0 || matchSum == 0 {
			m.Training.Converged = true // nothing to learn from
			return
		}
		change := 0.0
		newLambda := clamp(matchSum/total, 1e-9, 1-1e-9)
		change = math.Max(change, math.Abs(newLambda-m.Lambda))
		m.Lambda = newLambda
		for c := range m.M {
			if den[c] == 0 || free == nil || !free[c] {
				continue
			}
			for l := range m.M[c] {
				if m.Comparisons[c].Levels[l].Null {
					continue
				}
				v := clamp(num[c][l]/den[c], 1e-6, 1)
				change = math.Max(change, math.Abs(v-m.M[c][l]))
				m.M[c][l] = v
			}
		}
		m.Training.Iterations, m.Training.FinalChange = it, change
		if change < tol {
			m.Training.Converged = true
			return
		}
	}
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }
