package main

import (
	"runtime/debug"
	"runtime/metrics"
)

// heapReleaser hands the Go heap's garbage back to the operating system
// between a night's steps.
//
// A step that works in Go (clustering's arrays, loading's batches) leaves
// hundreds of megabytes of garbage that the collector will not look at until
// the heap doubles again, which the SQL steps after it never make it do: on
// a night of two million records 440 MB of it stayed resident from
// clustering to the portal's Patients, beside DuckDB's own memory, and set
// the night's peak (docs/BENCHMARKS.md, the twelfth session). After a step,
// when the heap holds more than releaseStep beyond what it held after the
// last release, the garbage is collected and the free pages returned: one
// collection of what is live, a few milliseconds where little is.
type heapReleaser struct {
	base uint64 // bytes held by the heap after the last release
}

// releaseStep is how much the heap may grow beyond what was live at the last
// release before a step's end releases it.
const releaseStep = 64 << 20

var heapSamples = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/free:bytes"}

// heapHeld is the heap's objects (live or not yet collected) and its free pages
// not yet returned.
func heapHeld() uint64 {
	s := make([]metrics.Sample, len(heapSamples))
	for i, name := range heapSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	var n uint64
	for _, v := range s {
		if v.Value.Kind() == metrics.KindUint64 {
			n += v.Value.Uint64()
		}
	}
	return n
}

// afterStep releases the heap's garbage when there is enough of it, and
// reports whether it did.
func (r *heapReleaser) afterStep() bool {
	if heapHeld() < r.base+releaseStep {
		return false
	}
	debug.FreeOSMemory()
	r.base = heapHeld()
	return true
}
