package store

import "fmt"

// DefaultMemoryShare is the share of the machine's memory DuckDB may use
// when the configuration sets no memory_limit: a fifth, so that with the Go
// side's few hundred megabytes the whole job stays under a quarter of the
// machine (DuckDB's own default is 80%). Work beyond it spills to disk.
const DefaultMemoryShare = 5

// DefaultMemoryLimit is the memory_limit used when none is configured: a
// DefaultMemoryShare-th of the machine's memory, or "" (DuckDB's default)
// where the machine's memory cannot be read.
func DefaultMemoryLimit() string {
	total := physicalMemory()
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("%dMiB", total/DefaultMemoryShare>>20)
}
