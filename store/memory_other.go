//go:build !linux

package store

// physicalMemory is unknown here: DuckDB's own default applies.
func physicalMemory() uint64 { return 0 }

// HugePages is the kernel's transparent huge page mode, unknown here.
func HugePages() string { return "" }

// AdviseHugePages does nothing here: transparent huge pages are Linux's.
func AdviseHugePages(bool) bool { return false }
