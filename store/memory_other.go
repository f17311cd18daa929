//go:build !linux

package store

// physicalMemory is unknown here: DuckDB's own default applies.
func physicalMemory() uint64 { return 0 }
