// Package config owns carematch's configuration file: the TOML layout in
// CONTRACT.md, its defaults, and the checks that turn a mistyped file into one
// clear error naming the key before any data is read.
package config

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/BurntSushi/toml"
)

// ErrConfig is wrapped by every error about the configuration itself (as
// opposed to the data it points at); the command line maps it to exit code 2.
var ErrConfig = errors.New("configuration error")

// Config is a loaded, checked configuration. Paths in it are absolute.
type Config struct {
	File    string // the configuration file
	SHA256  string // of the file's bytes, for the manifest
	Run     Run
	Sources []Source
	Linkage Linkage
	// Optouts are the opt-out forms, from [optouts] or run.optouts; nil when
	// the configuration has none.
	Optouts *Optouts
}

// Run holds the [run] table.
type Run struct {
	StateDir   string `toml:"state_dir"`   // default "var/state"
	PublishDir string `toml:"publish_dir"` // default "var/publish"
	Optouts    string `toml:"optouts"`     // optional CSV of opt-out forms, its header the canonical names (see Optouts)
	KeepRuns   int    `toml:"keep_runs"`   // publications kept; default 14
	// MinRowRatio: a source whose rows fall below this fraction of the last
	// successful night's is reported as an unexpected drop; default 0.9.
	MinRowRatio float64 `toml:"min_row_ratio"`
	// MemoryLimit is DuckDB's memory limit ("6GiB", "512MB"); default a
	// sixth of the machine's memory (store.DefaultMemoryLimit), so the whole
	// job stays under a quarter. Work beyond it spills to TempDir.
	MemoryLimit string `toml:"memory_limit"`
	// TempDir is where work spills; default <state_dir>/tmp.
	TempDir string `toml:"temp_dir"`
	// QuarantineAt is how many records may share one NHS number, or one
	// date of birth and postcode, before they are judged implausible (junk
	// or test data) and quarantined; 0: linkage's default.
	QuarantineAt int64 `toml:"quarantine_at"`
	// AdviseHugePages: where the kernel's transparent huge pages are
	// madvise, the night asks for them for DuckDB's memory
	// (store.AdviseHugePages); default true. Off, DuckDB's memory is
	// faulted in 4 KiB pages, as the kernel's mode alone would have it.
	AdviseHugePages *bool `toml:"advise_huge_pages"`
}

// HugePagesAdvised says whether the night asks for transparent huge pages
// for DuckDB's memory: run.advise_huge_pages, default true.
func (r Run) HugePagesAdvised() bool { return r.AdviseHugePages == nil || *r.AdviseHugePages }

// memoryLimit is the form memory_limit takes.
var memoryLimit = regexp.MustCompile(`^[0-9]+(\.[0-9]+)? ?([KMGT]i?B)$`)

// Linkage holds the [linkage] table. Every key is optional; zero values mean
// the documented defaults, applied by the linkage package.
type Linkage struct {
	LinkThreshold   *float64          `toml:"link_threshold"`
	ReviewThreshold *float64          `toml:"review_threshold"`
	ExtraComparison []ExtraComparison `toml:"extra_comparison"`
	BlockingRules   []string          `toml:"blocking_rules"`
	MaxPairsPerRule int64             `toml:"max_pairs_per_rule"`
	Model           string            `toml:"model"` // a saved model (JSON) to reuse instead of training
	Threads         int               `toml:"threads"`
	// Guards: the household guards (twins, siblings, a parent and child of
	// the same name) and the namesake guard (same names and date of birth at
	// another address, no NHS number) stop those patterns linking
	// automatically. Default true; turn off only for data with no households
	// in it.
	Guards *bool `toml:"guards"`
}

// ExtraComparison compares a field from [source.columns.extra].
type ExtraComparison struct {
	Field  string `toml:"field"`
	Method string `toml:"method"` // exact | jaro_winkler | levenshtein
}

type file struct {
	Run     Run      `toml:"run"`
	Source  []Source `toml:"source"`
	Linkage Linkage  `toml:"linkage"`
	Optouts *Optouts `toml:"optouts"`
}

// Load reads and checks a configuration file. Every error wraps ErrConfig and
// names the file and the key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return Parse(data, abs)
}

// Parse checks configuration text; path is the file it came from, used for
// relative paths and messages.
func Parse(data []byte, path string) (*Config, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, filepath.Base(path), fmt.Sprintf(format, a...))
	}
	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fail("line %d: %s", pe.Position.Line, pe.Message)
		}
		if msg, ok := friendlyTypeError(err); ok {
			return nil, fail("%s", msg)
		}
		return nil, fail("%v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fail("unknown key %q", und[0].String())
	}
	sum := sha256.Sum256(data)
	dir := filepath.Dir(path)
	cfg := &Config{File: path, SHA256: hex.EncodeToString(sum[:]), Run: f.Run, Sources: f.Source, Linkage: f.Linkage, Optouts: f.Optouts}

	if err := cfg.Run.check(dir); err != nil {
		return nil, fail("%v", err)
	}
	if err := checkSources(cfg.Sources, dir); err != nil {
		return nil, fail("%v", err)
	}
	if err := cfg.Linkage.check(cfg.Sources, dir); err != nil {
		return nil, fail("%v", err)
	}
	switch {
	case cfg.Optouts != nil && cfg.Run.Optouts != "":
		return nil, fail("run.optouts and [optouts] both name opt-out forms: keep one")
	case cfg.Run.Optouts != "":
		cfg.Optouts = &Optouts{Path: cfg.Run.Optouts, FromHeader: true}
	}
	if cfg.Optouts != nil {
		if err := cfg.Optouts.check(dir); err != nil {
			return nil, fail("%v", err)
		}
	}
	return cfg, nil
}

// Defaults of [run], applied by Parse.
const (
	DefaultStateDir    = "var/state"
	DefaultPublishDir  = "var/publish"
	DefaultKeepRuns    = 14
	DefaultMinRowRatio = 0.9
)

// check applies the defaults of [run], checks it and resolves its paths
// against dir.
func (r *Run) check(dir string) error {
	r.StateDir = resolve(dir, cmp.Or(r.StateDir, DefaultStateDir))
	r.PublishDir = resolve(dir, cmp.Or(r.PublishDir, DefaultPublishDir))
	r.KeepRuns = cmp.Or(r.KeepRuns, DefaultKeepRuns)
	r.MinRowRatio = cmp.Or(r.MinRowRatio, DefaultMinRowRatio)
	switch {
	case r.KeepRuns < 1:
		return errors.New("run.keep_runs must be at least 1")
	case r.MinRowRatio < 0 || r.MinRowRatio > 1:
		return fmt.Errorf("run.min_row_ratio must be between 0 and 1 (a share of last night's rows), not %g", r.MinRowRatio)
	case r.MemoryLimit != "" && !memoryLimit.MatchString(r.MemoryLimit):
		return fmt.Errorf("run.memory_limit %q: write a size such as \"6GiB\" or \"512MB\"", r.MemoryLimit)
	case r.QuarantineAt != 0 && r.QuarantineAt < 10:
		return errors.New("run.quarantine_at must be at least 10 records")
	}
	if r.TempDir == "" {
		r.TempDir = filepath.Join(r.StateDir, "tmp")
	}
	r.TempDir = resolve(dir, r.TempDir)
	if r.Optouts != "" {
		r.Optouts = resolve(dir, r.Optouts)
	}
	return nil
}

// check checks [linkage] against the sources, and resolves its paths.
func (l *Linkage) check(sources []Source, dir string) error {
	for i, e := range l.ExtraComparison {
		switch e.Method {
		case "exact", "jaro_winkler", "levenshtein":
		default:
			return fmt.Errorf("linkage.extra_comparison %d: method must be exact, jaro_winkler or levenshtein", i+1)
		}
		found := false
		for _, s := range sources {
			if _, ok := s.Columns.Extra[e.Field]; ok {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("linkage.extra_comparison %d: field %q is in no source's [source.columns.extra]", i+1, e.Field)
		}
	}
	if l.LinkThreshold != nil && l.ReviewThreshold != nil && *l.ReviewThreshold > *l.LinkThreshold {
		return errors.New("linkage.review_threshold is above linkage.link_threshold")
	}
	if l.Model != "" {
		l.Model = resolve(dir, l.Model)
	}
	return nil
}

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ExtraFields lists the extra field names used by any source, sorted.
func (c *Config) ExtraFields() []string {
	set := map[string]string{}
	for _, s := range c.Sources {
		for k := range s.Columns.Extra {
			set[k] = k
		}
	}
	return sortedKeys(set)
}
