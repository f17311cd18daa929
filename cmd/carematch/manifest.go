package main

import (
	"math"
	"syscall"
	"time"

	"github.com/selondon/carematch/extract"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/reports"
)

// newManifest starts a run's manifest.
func newManifest(n *night) *reports.Manifest {
	return &reports.Manifest{
		RunID:       n.run.ID,
		Started:     n.run.Started,
		Status:      "running",
		ToolVersion: toolVersion(),
		StateDB:     n.run.StatePath(),
		Config:      reports.ManifestConfig{Path: n.cfg.File, SHA256: n.cfg.SHA256},
		Counts:      map[string]int64{},
		Exceptions:  map[string]int64{},
		LinkMethods: map[string]int64{},
		TimingsMS:   map[string]int64{},
	}
}

// addSource records what was read from one source.
func addSource(m *reports.Manifest, r extract.SourceResult, organisation string) {
	ms := reports.ManifestSource{ID: r.ID, Organisation: organisation, Kind: r.Kind, Missing: r.Missing,
		RowsRead: r.Read, RowsLoaded: r.Loaded, RowsRejected: r.Rejected, Files: []reports.ManifestFile{}}
	for _, f := range r.Files {
		ms.Files = append(ms.Files, reports.ManifestFile{Path: f.Path, Bytes: f.Bytes, SHA256: f.SHA256,
			RowsRead: f.Read, RowsLoaded: f.Loaded, RowsRejected: f.Rejected})
	}
	m.Sources = append(m.Sources, ms)
	m.Counts["rows_read"] += r.Read
	m.Counts["rows_loaded"] += r.Loaded
	m.Counts["rows_rejected"] += r.Rejected
}

// addLinkage records what linkage did.
func addLinkage(m *reports.Manifest, res *linkage.Result) {
	model := res.Model
	m.Linkage = &reports.ManifestLinkage{Records: res.Records, NHSPairs: res.NHSPairs, DeterministicPairs: res.DeterministicPairs,
		NHSConflicts: res.Conflicts, CandidatePairs: res.CandidatePairs, PairsPerRecord: perRecord(res.CandidatePairs, res.Records), Blocking: res.Rules, Quarantined: res.Quarantined,
		LinkThreshold: model.LinkThreshold, ReviewThreshold: model.ReviewThreshold, Lambda: model.Lambda,
		Prior: model.Prior(), PriorFrom: model.Training.PriorFrom,
		EMIterations: model.Training.Iterations, EMConverged: model.Training.Converged,
		NamesakeChecked: res.NamesakeChecked, Namesakes: res.Namesakes, GuardsLifted: res.GuardsLifted, TyposLifted: res.TyposLifted,
		ModelFrom: res.ModelFrom, ModelReason: res.ModelReason}
	for k, d := range res.Timings {
		m.TimingsMS["link_"+k] = d.Milliseconds()
	}
	m.Counts["candidate_pairs"] = res.CandidatePairs
	m.Counts["pairs_compared"] = res.PairsCompared
}

// resources reads the process's peak memory and CPU time so far.
func resources(started time.Time) reports.Resources {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return reports.Resources{PeakRSSBytes: ru.Maxrss * 1024, CPUSeconds: cpu.Seconds(), WallSeconds: time.Since(started).Seconds()}
}

// perRecord is pairs per record, to two places; 0 with no records.
func perRecord(pairs, records int64) float64 {
	if records == 0 {
		return 0
	}
	return math.Round(float64(pairs)/float64(records)*100) / 100
}
