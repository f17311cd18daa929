package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteOut asks the kernel to start writing n bytes of f from off to
// disk, without waiting for them.
func startWriteOut(f *os.File, off, n int64) error {
	return unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// writeOutAndDrop writes n bytes of f from off to disk, waiting for them,
// and drops them from the page cache.
func writeOutAndDrop(f *os.File, off, n int64) error {
	if err := unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}
