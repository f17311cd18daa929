package main

import (
	"context"
	"path/filepath"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/extract"
	"github.com/selondon/carematch/store"
)

// recordsFile is where a night stages its loaded records when they are too
// big for memory (store.StageRecordsIn): beside DuckDB's spill files.
func recordsFile(cfg *config.Config) string { return filepath.Join(cfg.Run.TempDir, "records.duckdb") }

// stageRecords chooses where tonight's records are staged until linkage has
// made prep from them: in a file of their own when, by the extracts' size,
// they would take more than half of DuckDB's memory limit while they load
// (store.RecordsInFile), else in memory. A file a killed night left goes
// either way.
func (n *night) stageRecords(ctx context.Context) error {
	path := recordsFile(n.cfg)
	bytes, limit := extractBytes(n.cfg), n.memoryLimit()
	if !store.RecordsInFile(bytes, limit) && !n.opt.recordsInFile {
		return store.RemoveRecordsFile(path)
	}
	n.p.logf("load: the records are staged in a file of their own, not in memory (%d MiB of extracts; memory_limit %s)", bytes>>20, limit)
	return n.db.StageRecordsIn(ctx, path)
}

// extractBytes is the size of the night's extracts (extract.SourceBytes).
func extractBytes(cfg *config.Config) int64 {
	var total int64
	for i := range cfg.Sources {
		total += extract.SourceBytes(&cfg.Sources[i])
	}
	return total
}
