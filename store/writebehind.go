package store

import (
	"os"
)

// writeBehindChunk is how much of a published file is written before the
// kernel is asked to put it on disk: the chunk before is then waited for
// and dropped from the page cache, so a file in the writing holds at most
// two chunks of the page cache, however big it grows.
const writeBehindChunk = 32 << 20

// WriteBehind is a file the night writes once, front to back, and does
// not read again — a published file. Every writeBehindChunk bytes it asks
// the kernel to start writing the chunk just written to disk, waits for
// the chunk before it to be written, and drops that chunk from the page
// cache.
//
// Why: past a gigabyte or two, every page the page cache takes is dear
// on the benchmark machine, as DuckDB's fresh memory was (AdviseHugePages):
// writing 6 GB (the Patients of ten million records) took the writer
// 7–10 s in the kernel, written behind and dropped 1.6–1.9 s, the same
// few megabytes of page cache used again and again (docs/BENCHMARKS.md,
// the thirty-fifth session). A file's pages left in the page cache also
// push out the state file's, which the night still reads. Databases write
// a big file they write once the same way (a "bytes per sync").
//
// Writing behind is advice: where the kernel cannot do it (another
// system, a file system that refuses), the file is written as any other.
// It never makes the file durable — the run's Commit syncs the folder —
// and a failure to write a chunk out here is Commit's to find, not this
// writer's to report.
type WriteBehind struct {
	f       *os.File
	chunk   int64 // writeBehindChunk
	written int64 // bytes written
	started int64 // bytes whose writing to disk was started
	dropped int64 // bytes written to disk and dropped from the page cache
	off     bool  // the kernel refused: write as any other file
}

// CreateWriteBehind creates (or truncates) the file at path, mode perm,
// for writing behind.
func CreateWriteBehind(path string, perm os.FileMode) (*WriteBehind, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return nil, err
	}
	return &WriteBehind{f: f, chunk: writeBehindChunk}, nil
}

// Write writes p, and every writeBehindChunk bytes writes behind.
func (w *WriteBehind) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if err == nil && !w.off && w.written-w.started >= w.chunk {
		w.behind()
	}
	return n, err
}

// behind waits for the chunk whose writing was started last time (a whole
// chunk's writing ago, so usually written by now) and drops it, then
// starts writing what was written since.
func (w *WriteBehind) behind() {
	if w.started > w.dropped {
		if writeOutAndDrop(w.f, w.dropped, w.started-w.dropped) != nil {
			w.off = true
			return
		}
		w.dropped = w.started
	}
	// To the last whole page: the kernel drops whole pages only, so the
	// page being filled waits for the next chunk.
	upTo := w.written &^ int64(os.Getpagesize()-1)
	if startWriteOut(w.f, w.started, upTo-w.started) != nil {
		w.off = true
		return
	}
	w.started = upTo
}

// Close closes the file.
func (w *WriteBehind) Close() error { return w.f.Close() }
