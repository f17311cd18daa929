package store

import (
	"os"
	"syscall"
)

// physicalMemory is the machine's memory in bytes, 0 if unknown.
func physicalMemory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// hugePagesFile is where Linux says its transparent huge page mode.
const hugePagesFile = "/sys/kernel/mm/transparent_hugepage/enabled"

// HugePages is the kernel's transparent huge page mode: "always",
// "madvise" or "never"; "" where it cannot be read.
func HugePages() string {
	b, err := os.ReadFile(hugePagesFile)
	if err != nil {
		return ""
	}
	return selectedMode(string(b))
}
