// Package config owns carematch's configuration file: the TOML layout in
// CONTRACT.md, its defaults, and the checks that turn a mistyped file into one
// clear error naming the key before any data is read.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/selondon/carematch/rules"
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
}

// Run holds the [run] table.
type Run struct {
	StateDir   string `toml:"state_dir"`   // default "var/state"
	PublishDir string `toml:"publish_dir"` // default "var/publish"
	Optouts    string `toml:"optouts"`     // optional CSV with an nhs_number column
	KeepRuns   int    `toml:"keep_runs"`   // publications kept; default 14
	// MinRowRatio: a source whose rows fall below this fraction of the last
	// successful night's is reported as an unexpected drop; default 0.9.
	MinRowRatio float64 `toml:"min_row_ratio"`
	// MemoryLimit is DuckDB's memory limit ("6GiB", "512MB"); default its
	// own, 80% of the machine's memory. Work beyond it spills to TempDir.
	MemoryLimit string `toml:"memory_limit"`
	// TempDir is where work spills; default <state_dir>/tmp.
	TempDir string `toml:"temp_dir"`
	// QuarantineAt is how many records may share one NHS number, or one
	// date of birth and postcode, before they are judged implausible (junk
	// or test data) and quarantined; default 1,000.
	QuarantineAt int64 `toml:"quarantine_at"`
}

// memoryLimit is the form memory_limit takes.
var memoryLimit = regexp.MustCompile(`^[0-9]+(\.[0-9]+)? ?([KMGT]i?B)$`)

// Source kinds.
const (
	KindGP         = "gp"
	KindHospital   = "hospital"
	KindCommunity  = "community"
	KindSocialCare = "social_care"
	KindOutOfHours = "out_of_hours"
	KindOther      = "other"
)

// Source is one [[source]]: where an organisation's extract is and how to
// read it.
type Source struct {
	ID           string                       `toml:"id"`
	Organisation string                       `toml:"organisation"`
	Kind         string                       `toml:"kind"`
	Path         string                       `toml:"path"`        // a file or a glob, absolute after Load
	Format       string                       `toml:"format"`      // csv | parquet | jsonl; default from the extension
	Encoding     string                       `toml:"encoding"`    // utf-8 (default) | windows-1252
	Delimiter    string                       `toml:"delimiter"`   // one character; default ","
	DateFormat   string                       `toml:"date_format"` // default %Y-%m-%d
	Required     *bool                        `toml:"required"`    // default true
	Columns      Columns                      `toml:"columns"`
	Values       map[string]map[string]string `toml:"values"` // field → code → canonical code

	DateLayout *rules.DateFormat `toml:"-"` // compiled DateFormat
}

// IsRequired reports whether a missing or unreadable extract fails the run.
func (s *Source) IsRequired() bool { return s.Required == nil || *s.Required }

// Delim returns the delimiter as a byte.
func (s *Source) Delim() byte { return s.Delimiter[0] }

// Columns maps canonical fields to the extract's columns.
type Columns struct {
	LocalID            string            `toml:"local_id"`
	NHSNumber          string            `toml:"nhs_number"`
	NHSNumberStatus    string            `toml:"nhs_number_status"`
	Title              string            `toml:"title"`
	GivenName          string            `toml:"given_name"`
	MiddleNames        string            `toml:"middle_names"`
	FamilyName         string            `toml:"family_name"`
	PreviousFamilyName string            `toml:"previous_family_name"`
	DateOfBirth        string            `toml:"date_of_birth"`
	Sex                string            `toml:"sex"`
	Address            StringList        `toml:"address"`
	Postcode           string            `toml:"postcode"`
	Sensitive          string            `toml:"sensitive"`
	Consent            string            `toml:"consent"`
	DateOfDeath        string            `toml:"date_of_death"`
	Deleted            string            `toml:"deleted"`
	Updated            string            `toml:"updated"` // when the source last updated the record (date_format)
	Extra              map[string]string `toml:"extra"`
}

// Field is one canonical field and the extract column it comes from.
type Field struct {
	Name   string // canonical, e.g. "nhs_number", "address[1]", "extra.soc_sec_id"
	Column string
}

// Fields lists every mapped canonical field in a fixed order.
func (c *Columns) Fields() []Field {
	var fs []Field
	add := func(name, col string) {
		if col != "" {
			fs = append(fs, Field{name, col})
		}
	}
	add("local_id", c.LocalID)
	add("nhs_number", c.NHSNumber)
	add("nhs_number_status", c.NHSNumberStatus)
	add("title", c.Title)
	add("given_name", c.GivenName)
	add("middle_names", c.MiddleNames)
	add("family_name", c.FamilyName)
	add("previous_family_name", c.PreviousFamilyName)
	add("date_of_birth", c.DateOfBirth)
	add("sex", c.Sex)
	for i, a := range c.Address {
		add(fmt.Sprintf("address[%d]", i), a)
	}
	add("postcode", c.Postcode)
	add("sensitive", c.Sensitive)
	add("consent", c.Consent)
	add("date_of_death", c.DateOfDeath)
	add("deleted", c.Deleted)
	add("updated", c.Updated)
	for _, k := range sortedKeys(c.Extra) {
		add("extra."+k, c.Extra[k])
	}
	return fs
}

// StringList is a TOML value that may be one string or an array of strings.
type StringList []string

// UnmarshalTOML implements toml.Unmarshaler.
func (l *StringList) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*l = StringList{v}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("expected a string or an array of strings")
			}
			*l = append(*l, s)
		}
	default:
		return fmt.Errorf("expected a string or an array of strings")
	}
	return nil
}

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
}

var sourceID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

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
		return nil, fail("%v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fail("unknown key %q", und[0].String())
	}
	sum := sha256.Sum256(data)
	dir := filepath.Dir(path)
	cfg := &Config{File: path, SHA256: hex.EncodeToString(sum[:]), Run: f.Run, Sources: f.Source, Linkage: f.Linkage}

	r := &cfg.Run
	if r.StateDir == "" {
		r.StateDir = "var/state"
	}
	if r.PublishDir == "" {
		r.PublishDir = "var/publish"
	}
	if r.KeepRuns == 0 {
		r.KeepRuns = 14
	}
	if r.KeepRuns < 1 {
		return nil, fail("run.keep_runs must be at least 1")
	}
	if r.MinRowRatio == 0 {
		r.MinRowRatio = 0.9
	}
	if r.MinRowRatio < 0 || r.MinRowRatio > 1 {
		return nil, fail("run.min_row_ratio must be between 0 and 1 (a share of last night's rows), not %g", r.MinRowRatio)
	}
	if r.MemoryLimit != "" && !memoryLimit.MatchString(r.MemoryLimit) {
		return nil, fail("run.memory_limit %q: write a size such as \"6GiB\" or \"512MB\"", r.MemoryLimit)
	}
	if r.QuarantineAt == 0 {
		r.QuarantineAt = 1000
	}
	if r.QuarantineAt < 10 {
		return nil, fail("run.quarantine_at must be at least 10 records")
	}
	r.StateDir = resolve(dir, r.StateDir)
	r.PublishDir = resolve(dir, r.PublishDir)
	if r.TempDir == "" {
		r.TempDir = filepath.Join(r.StateDir, "tmp")
	}
	r.TempDir = resolve(dir, r.TempDir)
	if r.Optouts != "" {
		r.Optouts = resolve(dir, r.Optouts)
	}
	if len(cfg.Sources) == 0 {
		return nil, fail("no [[source]]: nothing to load")
	}
	seen := map[string]bool{}
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		where := fmt.Sprintf("source %d", i+1)
		if s.ID != "" {
			where = fmt.Sprintf("source %q", s.ID)
		}
		if !sourceID.MatchString(s.ID) {
			return nil, fail("%s: id must be lower-case letters, digits and _ (starting with a letter)", where)
		}
		if seen[s.ID] {
			return nil, fail("%s: id is used twice", where)
		}
		seen[s.ID] = true
		if err := s.check(dir); err != nil {
			return nil, fail("%s: %v", where, err)
		}
	}
	for i, e := range cfg.Linkage.ExtraComparison {
		switch e.Method {
		case "exact", "jaro_winkler", "levenshtein":
		default:
			return nil, fail("linkage.extra_comparison %d: method must be exact, jaro_winkler or levenshtein", i+1)
		}
		found := false
		for _, s := range cfg.Sources {
			if _, ok := s.Columns.Extra[e.Field]; ok {
				found = true
			}
		}
		if !found {
			return nil, fail("linkage.extra_comparison %d: field %q is in no source's [source.columns.extra]", i+1, e.Field)
		}
	}
	if l := cfg.Linkage; l.LinkThreshold != nil && l.ReviewThreshold != nil && *l.ReviewThreshold > *l.LinkThreshold {
		return nil, fail("linkage.review_threshold is above linkage.link_threshold")
	}
	if cfg.Linkage.Model != "" {
		cfg.Linkage.Model = resolve(dir, cfg.Linkage.Model)
	}
	return cfg, nil
}

func (s *Source) check(dir string) error {
	switch s.Kind {
	case KindGP, KindHospital, KindCommunity, KindSocialCare, KindOutOfHours, KindOther:
	case "":
		return errors.New("kind is required (gp, hospital, community, social_care, out_of_hours or other)")
	default:
		return fmt.Errorf("kind %q is not one of gp, hospital, community, social_care, out_of_hours, other", s.Kind)
	}
	if s.Path == "" {
		return errors.New("path is required")
	}
	s.Path = resolve(dir, s.Path)
	if s.Format == "" {
		switch strings.ToLower(filepath.Ext(s.Path)) {
		case ".parquet":
			s.Format = "parquet"
		case ".jsonl", ".ndjson", ".json":
			s.Format = "jsonl"
		default:
			s.Format = "csv"
		}
	}
	switch s.Format {
	case "csv", "parquet", "jsonl":
	default:
		return fmt.Errorf("format %q is not csv, parquet or jsonl", s.Format)
	}
	switch strings.ToLower(s.Encoding) {
	case "", "utf-8", "utf8":
		s.Encoding = "utf-8"
	case "windows-1252", "cp1252", "latin-1", "latin1", "iso-8859-1":
		s.Encoding = "windows-1252" // a superset of Latin-1 for every printable character
	default:
		return fmt.Errorf("encoding %q is not utf-8 or windows-1252", s.Encoding)
	}
	switch s.Delimiter {
	case "":
		s.Delimiter = ","
	case "\\t", "tab", "TAB":
		s.Delimiter = "\t"
	}
	if len(s.Delimiter) != 1 || s.Delimiter == "\"" || s.Delimiter == "\n" || s.Delimiter == "\r" {
		return fmt.Errorf("delimiter must be one character other than a quote or a line break")
	}
	if s.DateFormat == "" {
		s.DateFormat = "%Y-%m-%d"
	}
	df, err := rules.CompileDateFormat(s.DateFormat)
	if err != nil {
		return fmt.Errorf("date_format: %v", err)
	}
	s.DateLayout = df
	if s.Columns.LocalID == "" {
		return errors.New("columns.local_id is required")
	}
	for field := range s.Values {
		switch field {
		case "sex", "sensitive", "consent", "deleted", "nhs_number_status":
		default:
			return fmt.Errorf("values.%s: code maps are for sex, sensitive, consent, deleted and nhs_number_status", field)
		}
	}
	for k := range s.Columns.Extra {
		if !sourceID.MatchString(k) {
			return fmt.Errorf("columns.extra.%s: names must be lower-case letters, digits and _", k)
		}
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
