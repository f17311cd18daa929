package mpi

import (
	"runtime"
	"slices"
	"sync"
)

// sortInParts sorts s by cmp on two cores when it is long: parted around
// one of its elements (the median of a sample), the two parts are sorted
// side by side. Clustering is Go on one core while the other idles, and
// its sorts of the links were the second largest piece of it (at ten
// million records 2.3 s of its 20; docs/BENCHMARKS.md, the twenty-seventh
// session). Like slices.SortFunc it is not stable: elements cmp finds
// equal may come out in either order.
func sortInParts[T any](s []T, cmp func(a, b T) int) {
	if len(s) < sortInPartsFrom || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(s, cmp)
		return
	}
	mid := partAround(s, cmp)
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(s[:mid], cmp) })
	slices.SortFunc(s[mid:], cmp)
	wg.Wait()
}

// sortInPartsFrom is the shortest slice sortInParts sorts in two parts:
// below it a second goroutine costs more than it saves.
const sortInPartsFrom = 1 << 16

// partAround moves every element before a pivot in cmp's order to the
// front and returns how many there are. The pivot is the median of 63
// elements spread over s, so the parts are about even unless most of s is
// equal.
func partAround[T any](s []T, cmp func(a, b T) int) int {
	sample := make([]T, 63)
	for i := range sample {
		sample[i] = s[(len(s)-1)*i/(len(sample)-1)]
	}
	slices.SortFunc(sample, cmp)
	pivot := sample[len(sample)/2]
	i, j := 0, len(s)-1
	for {
		for i <= j && cmp(s[i], pivot) < 0 {
			i++
		}
		for i <= j && cmp(s[j], pivot) >= 0 {
			j--
		}
		if i >= j {
			return i
		}
		s[i], s[j] = s[j], s[i]
		i, j = i+1, j-1
	}
}
