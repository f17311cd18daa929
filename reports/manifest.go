package reports

import (
	"encoding/json"

	"os"
	"time"

	"github.com/selondon/carematch/linkage"
)

// Manifest is manifest.json: what a run read, did and wrote. It holds counts
// and file facts, never a patient's value.
type Manifest struct {
	RunID       string         `json:"run_id"`
	Started     time.Time      `json:"started"`
	Finished    time.Time      `json:"finished"`
	Status      string         `json:"status"` // succeeded | failed
	Error       string         `json:"error,omitempty"`
	ToolVersion string         `json:"tool_version"`
	Config      ManifestConfig `json:"config"`
	// Mode is how the night linked, incremental or full, and ModeReason
	// why it was full.
	Mode        string           `json:"mode,omitempty"`
	ModeReason  string           `json:"mode_reason,omitempty"`
	Sources     []ManifestSource `json:"sources"`
	Counts      map[string]int64 `json:"counts"`                // per stage: rows_read, records, persons, …
	Exceptions  map[string]int64 `json:"exceptions"`            // per kind
	LinkMethods map[string]int64 `json:"link_methods"`          // records per link_method
	TimingsMS   map[string]int64 `json:"timings_ms"`            // per stage
	Pruned      []string         `json:"pruned_runs,omitempty"` // publications removed by retention
	Resources   Resources        `json:"resources"`
	Linkage     *ManifestLinkage `json:"linkage,omitempty"`
	StateDB     string           `json:"state_db"` // the run's database, for explain and evaluate
}

// ManifestLinkage is what the linkage stage did.
type ManifestLinkage struct {
	Records            int64 `json:"records"`
	NHSPairs           int64 `json:"nhs_number_pairs"`
	DeterministicPairs int64 `json:"nhs_number_links"`
	NHSConflicts       int64 `json:"nhs_number_conflicts"`
	CandidatePairs     int64 `json:"candidate_pairs"`
	// PairsPerRecord is candidate pairs per record linked: the blocking
	// rules' cost, which should stay about the same as the data grows.
	PairsPerRecord float64             `json:"candidate_pairs_per_record"`
	Blocking       []linkage.RuleStats `json:"blocking_rules"`
	// Quarantined are records held back for sharing a key implausibly.
	Quarantined     []linkage.QuarantineStats `json:"quarantined,omitempty"`
	LinkThreshold   float64                   `json:"link_threshold"`
	ReviewThreshold float64                   `json:"review_threshold"`
	Lambda          float64                   `json:"lambda"`
	// Prior is the match weight every pair starts from (log2 odds that two
	// records drawn at random are one person), PriorFrom what it was
	// estimated from (linkage/prior.go).
	Prior        float64             `json:"prior"`
	PriorFrom    linkage.PriorSource `json:"prior_from,omitempty"`
	EMIterations int                 `json:"em_iterations"`
	EMConverged  bool                `json:"em_converged"`
	// Namesakes among the pairs with the same names and date of birth at
	// different postcodes whose verified numbers tell (the namesake guard's
	// evidence), and how many guards were lifted: in all, and twin guards
	// for a misspelt given name.
	NamesakeChecked int64 `json:"namesake_pairs_checked"`
	Namesakes       int64 `json:"namesakes"`
	GuardsLifted    int64 `json:"guards_lifted"`
	TyposLifted     int64 `json:"typo_guards_lifted"`
	// ModelFrom is where the night's model came from: fitted tonight,
	// held from the previous night, or a configured file; ModelReason why
	// one was fitted where one was to be held.
	ModelFrom   string `json:"model_from"`
	ModelReason string `json:"model_reason,omitempty"`
}

// Resources is what the run cost the machine.
type Resources struct {
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	WallSeconds  float64 `json:"wall_seconds"`
	// MemoryLimit is DuckDB's memory limit for the run, configured or
	// the default.
	MemoryLimit string `json:"memory_limit,omitempty"`
	// BlockMemory is how much of the buffer blocks its queries free DuckDB
	// kept mapped for the next to reuse, as DuckDB reports it.
	BlockMemory string `json:"block_memory,omitempty"`
	// HugePages is the kernel's transparent huge page mode during the
	// run (always, madvise or never): huge pages, given by always or asked
	// for under madvise (HugePagesAdvised), took 11–15% off a night of two
	// million records on the benchmark machine (docs/BENCHMARKS.md, the
	// seventeenth and thirty-second sessions).
	HugePages string `json:"huge_pages,omitempty"`
	// HugePagesAdvised says the night asked for transparent huge pages for
	// DuckDB's memory (madvise): run.advise_huge_pages, where the mode is
	// madvise.
	HugePagesAdvised bool `json:"huge_pages_advised"`
	// AllocatorDecayMS is how long DuckDB's allocator kept the pages a
	// query freed before handing them back to the system, in milliseconds
	// (-1: never), as the allocator says; absent where it cannot say.
	AllocatorDecayMS *int64 `json:"allocator_decay_ms,omitempty"`
	// Threads is how many threads DuckDB worked on once the records were
	// loaded: linkage.threads, else one for a night under
	// store.OneThreadBelow records, else one a core.
	Threads int `json:"threads,omitempty"`
}

// ManifestConfig identifies the configuration a run used.
type ManifestConfig struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ManifestSource is one source's files and row counts.
type ManifestSource struct {
	ID           string         `json:"id"`
	Organisation string         `json:"organisation,omitempty"`
	Kind         string         `json:"kind"`
	Missing      bool           `json:"missing,omitempty"`
	Files        []ManifestFile `json:"files"`
	RowsRead     int64          `json:"rows_read"`
	RowsLoaded   int64          `json:"rows_loaded"`
	RowsRejected int64          `json:"rows_rejected"`
	// Changes are the source's records against last night's; absent when
	// last night kept no fingerprints to compare with.
	Changes *ManifestChanges `json:"changes,omitempty"`
}

// ManifestChanges are a source's records compared with last night's by
// their fingerprints: on the first night, every record is new.
type ManifestChanges struct {
	New       int64 `json:"new"`
	Changed   int64 `json:"changed"`
	Unchanged int64 `json:"unchanged"`
	Gone      int64 `json:"gone"`
}

// ManifestFile is one file read.
type ManifestFile struct {
	Path         string `json:"path"`
	Bytes        int64  `json:"bytes"`
	SHA256       string `json:"sha256"`
	RowsRead     int64  `json:"rows_read"`
	RowsLoaded   int64  `json:"rows_loaded"`
	RowsRejected int64  `json:"rows_rejected"`
}

// JSON renders the manifest, indented.
func (m *Manifest) JSON() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// Write writes the manifest to path (world-readable: it holds no patient
// data, and the scheduler reads it).
func (m *Manifest) Write(path string) error {
	return os.WriteFile(path, m.JSON(), 0o644)
}

// ReadManifest reads a manifest.json.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	return &m, json.Unmarshal(b, &m)
}
