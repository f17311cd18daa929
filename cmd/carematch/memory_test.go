package main

import (
	"runtime"
	"testing"
)

// After a step that leaves garbage, the heap is collected and its pages
// returned; after one that leaves little, nothing is done.
func TestHeapReleaser(t *testing.T) {
	var r heapReleaser
	r.afterStep() // whatever earlier tests left
	if r.afterStep() {
		t.Fatal("released again with nothing new on the heap")
	}
	before := step()
	if !r.afterStep() {
		t.Fatalf("nothing released with %d MB held", before>>20)
	}
	if after := heapHeld(); after+150<<20 > before {
		t.Errorf("held %d MB before the release, %d MB after", before>>20, after>>20)
	}
	if r.afterStep() {
		t.Error("released twice in a row")
	}
}

// step allocates 200 MB as a step working in Go might, and leaves it as
// garbage; it returns what the heap held while the step ran.
func step() uint64 {
	work := make([][]byte, 0, 200)
	for range 200 {
		work = append(work, make([]byte, 1<<20))
	}
	held := heapHeld()
	runtime.KeepAlive(work)
	return held
}
