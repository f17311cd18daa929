package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const good = `
[run]
state_dir = "state"
publish_dir = "/srv/publish"
optouts = "extracts/optouts.csv"

[[source]]
id = "gp_lewisham"
organisation = "Lewisham GP Practices"
kind = "gp"
path = "extracts/gp_lewisham.csv"
date_format = "%Y-%m-%d"
  [source.columns]
  local_id = "PatientGuid"
  nhs_number = "NhsNumber"
  address = ["HouseNameFlatNumber", "NumberAndStreet", "Town"]
  [source.columns.extra]
  soc_sec_id = "SocSec"
  [source.values]
  sex = { "1" = "male", "2" = "female" }

[[source]]
id = "lewisham_asc"
kind = "social_care"
path = "extracts/asc.txt"
delimiter = "\\t"
encoding = "Windows-1252"
required = false
date_format = "%d/%m/%Y"
  [source.columns]
  local_id = "PERSON_ID"
  address = "ADDRESS"

[linkage]
link_threshold = 12.0
review_threshold = 6.5
  [[linkage.extra_comparison]]
  field = "soc_sec_id"
  method = "exact"
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse([]byte(good), "/etc/carematch/carematch.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Run.StateDir != "/etc/carematch/state" || cfg.Run.PublishDir != "/srv/publish" || cfg.Run.KeepRuns != 14 {
		t.Errorf("run = %+v", cfg.Run)
	}
	gp, asc := cfg.Sources[0], cfg.Sources[1]
	if gp.Path != filepath.FromSlash("/etc/carematch/extracts/gp_lewisham.csv") || gp.Format != "csv" || gp.Delimiter != "," || !gp.IsRequired() {
		t.Errorf("gp = %+v", gp)
	}
	if len(gp.Columns.Address) != 3 || len(asc.Columns.Address) != 1 {
		t.Errorf("address columns %v %v", gp.Columns.Address, asc.Columns.Address)
	}
	if asc.Delimiter != "\t" || asc.Encoding != "windows-1252" || asc.IsRequired() {
		t.Errorf("asc = %+v", asc)
	}
	if gp.Values["sex"]["1"] != "male" {
		t.Errorf("values %v", gp.Values)
	}
	if got := cfg.ExtraFields(); len(got) != 1 || got[0] != "soc_sec_id" {
		t.Errorf("extra fields %v", got)
	}
	if len(cfg.SHA256) != 64 {
		t.Errorf("sha256 %q", cfg.SHA256)
	}
	if !cfg.Run.HugePagesAdvised() {
		t.Error("huge pages not advised by default")
	}
	off, err := Parse([]byte(strings.Replace(good, "[run]\n", "[run]\nadvise_huge_pages = false\n", 1)), "/etc/carematch/carematch.toml")
	if err != nil {
		t.Fatal(err)
	}
	if off.Run.HugePagesAdvised() {
		t.Error("advise_huge_pages = false still advises huge pages")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"unknown key", `organisation = "Lewisham GP Practices"`, `unknown key "source.organsation"`},
		{"bad kind", `kind = "gp"`, `kind "surgery" is not one of`},
		{"no local_id", `local_id = "PatientGuid"`, `columns.local_id is required`},
		{"bad date format", `date_format = "%Y-%m-%d"`, `date_format:`},
		{"bad id", `id = "gp_lewisham"`, `id must be lower-case`},
		{"bad encoding", `encoding = "Windows-1252"`, `encoding "ebcdic"`},
		{"bad delimiter", `delimiter = "\\t"`, `delimiter must be one character`},
		{"bad method", `method = "exact"`, `method must be exact`},
		{"thresholds", `review_threshold = 6.5`, `review_threshold is above`},
		{"toml syntax", `[run]`, `line 3:`},
		{"row ratio over 1", `state_dir = "state"`, `min_row_ratio must be between 0 and 1`},
		{"memory limit", `publish_dir = "/srv/publish"`, `memory_limit "lots"`},
		{"quarantine too low", `optouts = "extracts/optouts.csv"`, `quarantine_at must be at least 10`},
	}
	repl := map[string]string{
		"unknown key":        `organsation = "x"`,
		"bad kind":           `kind = "surgery"`,
		"no local_id":        ``,
		"bad date format":    `date_format = "%y"`,
		"bad id":             `id = "GP Lewisham"`,
		"bad encoding":       `encoding = "ebcdic"`,
		"bad delimiter":      `delimiter = "ab"`,
		"bad method":         `method = "soundex"`,
		"thresholds":         `review_threshold = 13`,
		"toml syntax":        `[run`,
		"row ratio over 1":   "state_dir = \"state\"\nmin_row_ratio = 5",
		"memory limit":       "publish_dir = \"/srv/publish\"\nmemory_limit = \"lots\"",
		"quarantine too low": "quarantine_at = 3",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(good, tt.edit, repl[tt.name], 1)
			_, err := Parse([]byte(text), "/x/carematch.toml")
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error does not wrap ErrConfig: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "carematch.toml") {
				t.Errorf("error %q does not say %q and the file", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("[run]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "/x/c.toml")
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error does not wrap ErrConfig: %v", err)
			}
			return
		}
		for _, s := range cfg.Sources {
			if s.Columns.LocalID == "" || s.DateLayout == nil || len(s.Delimiter) != 1 {
				t.Fatalf("accepted an incomplete source %+v", s)
			}
		}
	})
}

// The opt-out forms: run.optouts (the header names the fields), or an
// [optouts] table mapping them like a source's columns; not both, and only
// the fields a form carries.
func TestOptoutsConfig(t *testing.T) {
	src := "\n[[source]]\nid = \"gp\"\nkind = \"gp\"\npath = \"gp.csv\"\n  [source.columns]\n  local_id = \"id\"\n"
	for _, tc := range []struct {
		name, text, err string
		check           func(*Config) bool
	}{
		{"none", src, "", func(c *Config) bool { return c.Optouts == nil }},
		{"run.optouts", "[run]\noptouts = \"forms.csv\"\n" + src, "", func(c *Config) bool {
			return c.Optouts.FromHeader && filepath.Base(c.Optouts.Path) == "forms.csv" && c.Optouts.Source.ID == OptoutsID
		}},
		{"[optouts]", src + "\n[optouts]\npath = \"forms.csv\"\ndate_format = \"%d/%m/%Y\"\n  [optouts.columns]\n  nhs_number = \"NHS\"\n  given_name = \"First\"\n  address = [\"A1\", \"A2\"]\n", "",
			func(c *Config) bool {
				return !c.Optouts.FromHeader && c.Optouts.Source.Columns.GivenName == "First" && len(c.Optouts.Source.Columns.Address) == 2 && c.Optouts.Source.DateLayout != nil
			}},
		{"both", "[run]\noptouts = \"a.csv\"\n" + src + "\n[optouts]\npath = \"b.csv\"\n  [optouts.columns]\n  nhs_number = \"NHS\"\n", "run.optouts and [optouts] both", nil},
		{"a field a form does not carry", src + "\n[optouts]\npath = \"b.csv\"\n  [optouts.columns]\n  sex = \"Sex\"\n", "optouts.columns.sex: a form is read for", nil},
		{"no columns", src + "\n[optouts]\npath = \"b.csv\"\n", "optouts.columns: map at least", nil},
		{"no path", src + "\n[optouts]\n  [optouts.columns]\n  nhs_number = \"NHS\"\n", "optouts.path is required", nil},
		{"a source called optouts", strings.Replace(src, `id = "gp"`, `id = "optouts"`, 1), "names the opt-out forms", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.text), "/cfg/carematch.toml")
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.check != nil && !tc.check(c):
				t.Errorf("%+v", c.Optouts)
			}
		})
	}
}

// A value of the wrong type names its line and key, what it must be and
// what it is — in a user's words, not Go's.
func TestTypeErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"[run]\nkeep_runs = \"ten\"\n", `line 2: run.keep_runs must be a whole number (no quotes), not a string`},
		{"[run]\nstate_dir = \"x\"\n[source]\nid = \"gp\"\n", `line 3: source: each extract is a [[source]] table (two brackets), not [source]`},
		{"[[source]]\nid = \"gp\"\n[source.columns]\nlocal_id = 5\n", `line 4: source.columns.local_id must be a string in quotes, not a whole number`},
		{"[linkage]\nguards = \"no\"\n", `line 2: linkage.guards must be true or false, not a string`},
	} {
		_, err := Parse([]byte(tc.text), "/cfg/carematch.toml")
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) || strings.Contains(err.Error(), "map[") {
			t.Errorf("%q: %v, want …%s", tc.text, err, tc.want)
		}
	}
}
