package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident says which of a file's pages are in the page cache.
func resident(t *testing.T, path string) []bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	// mincore by its number: golang.org/x/sys/unix has no wrapper for it on
	// Linux.
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	in := make([]bool, len(vec))
	for i, v := range vec {
		in[i] = v&1 == 1
	}
	return in
}

func countResident(in []bool) (n int) {
	for _, r := range in {
		if r {
			n++
		}
	}
	return n
}

// canDrop skips the test where the file system keeps a written file's
// pages whatever it is told (tmpfs): there, writing behind is the same as
// writing.
func canDrop(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "probe")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 1<<20, unix.FADV_DONTNEED); err != nil {
		t.Skipf("this file system cannot drop a file's pages: %v", err)
	}
	if countResident(resident(t, path)) > 0 {
		t.Skip("this file system keeps written pages in memory (tmpfs?): nothing to drop")
	}
}

// TestWriteBehind writes a file of several chunks in pieces that do not
// fall on a chunk's edge: every byte is there, in order, and every chunk
// but the last two has left the page cache — the file in the writing
// holds at most two chunks of it however big it grows.
func TestWriteBehind(t *testing.T) {
	dir := t.TempDir()
	canDrop(t, dir)
	path := filepath.Join(dir, "patients.ndjson")
	w, err := CreateWriteBehind(path, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	w.chunk = 1 << 20
	var want bytes.Buffer
	piece := make([]byte, 300_007)
	for i := range 40 { // 12 MB: 11 chunks and some
		for j := range piece {
			piece[j] = byte(i*31 + j)
		}
		if _, err := w.Write(piece); err != nil {
			t.Fatal(err)
		}
		want.Write(piece)
	}
	if w.off {
		t.Fatal("the kernel refused to write behind")
	}
	in := resident(t, path)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the file read back is not what was written (%d bytes, want %d)", len(got), want.Len())
	}
	page := int64(os.Getpagesize())
	if w.dropped < int64(want.Len())-3*w.chunk {
		t.Fatalf("dropped %d of %d bytes, want all but the last chunks", w.dropped, want.Len())
	}
	if n := countResident(in[:w.dropped/page]); n > 0 {
		t.Errorf("%d pages of the %d dropped are still in the page cache", n, w.dropped/page)
	}
	if tail := countResident(in[w.dropped/page:]); tail == 0 {
		t.Errorf("none of the last chunks' pages in the page cache: the test cannot tell dropped from never cached")
	}
}

// Where the kernel refuses to write a file behind (here a device, not a
// file on a disk), the file is written as any other: no error, and no
// more asking.
func TestWriteBehindFallsBack(t *testing.T) {
	w, err := CreateWriteBehind(os.DevNull, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.chunk = 1 << 16
	piece := make([]byte, 50_000)
	for range 10 {
		if n, err := w.Write(piece); err != nil || n != len(piece) {
			t.Fatalf("wrote %d of %d: %v", n, len(piece), err)
		}
	}
	if !w.off || w.dropped != 0 {
		t.Errorf("written behind on %s (off %v, %d bytes dropped): the test shows nothing", os.DevNull, w.off, w.dropped)
	}
}
