package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/selondon/carematch/rules"
)

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

var sourceID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// checkSources checks every [[source]]: ids unique, each valid.
func checkSources(sources []Source, dir string) error {
	if len(sources) == 0 {
		return errors.New("no [[source]]: nothing to load")
	}
	seen := map[string]bool{}
	for i := range sources {
		s := &sources[i]
		where := fmt.Sprintf("source %d", i+1)
		if s.ID != "" {
			where = fmt.Sprintf("source %q", s.ID)
		}
		if !sourceID.MatchString(s.ID) {
			return fmt.Errorf("%s: id must be lower-case letters, digits and _ (starting with a letter)", where)
		}
		if seen[s.ID] {
			return fmt.Errorf("%s: id is used twice", where)
		}
		seen[s.ID] = true
		if err := s.check(dir); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if s.Columns.LocalID == "" {
			return fmt.Errorf("%s: columns.local_id is required", where)
		}
		if s.ID == OptoutsID {
			return fmt.Errorf("%s: the id %q names the opt-out forms; choose another", where, OptoutsID)
		}
	}
	return nil
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
