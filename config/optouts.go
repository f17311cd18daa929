package config

import (
	"errors"
	"fmt"
	"strings"
)

// OptoutsID is the source id the opt-out forms are reported under (in
// exceptions and review items), and no extract may take.
const OptoutsID = "optouts"

// Optouts holds the [optouts] table: the opt-out forms, read like a source.
// The Connect Care form asks for name, date of birth and address, and the
// NHS number only if the person knows it; a form is matched to persons by
// number or by those details. run.optouts names a file whose header uses
// the canonical names (a one-column nhs_number file is the old list).
type Optouts struct {
	Path       string  `toml:"path"`
	Encoding   string  `toml:"encoding"`    // as a source's
	Delimiter  string  `toml:"delimiter"`   // as a source's
	DateFormat string  `toml:"date_format"` // as a source's
	Columns    Columns `toml:"columns"`     // nhs_number, given_name, family_name, date_of_birth, postcode, address

	// FromHeader is set for run.optouts: the columns are the header's own
	// names, whichever of the form's fields it has.
	FromHeader bool `toml:"-"`
	// Source is the forms as a source, for the loader; set by Parse.
	Source Source `toml:"-"`
}

// OptoutFields are the fields a form may carry.
var OptoutFields = []string{"nhs_number", "given_name", "family_name", "date_of_birth", "postcode", "address"}

// ColumnsFromHeader maps, for run.optouts, each form field the header names
// by its canonical name; it reports false when the header names none.
func ColumnsFromHeader(header []string) (Columns, bool) {
	var c Columns
	has := map[string]bool{}
	for _, h := range header {
		has[h] = true
	}
	set := map[string]*string{"nhs_number": &c.NHSNumber, "given_name": &c.GivenName, "family_name": &c.FamilyName,
		"date_of_birth": &c.DateOfBirth, "postcode": &c.Postcode}
	found := false
	for _, f := range OptoutFields {
		if !has[f] {
			continue
		}
		found = true
		if f == "address" {
			c.Address = StringList{f}
		} else {
			*set[f] = f
		}
	}
	return c, found
}

// check validates [optouts] (or builds it from run.optouts) and resolves
// its path against dir.
func (o *Optouts) check(dir string) error {
	if o.Path == "" {
		return errors.New("optouts.path is required")
	}
	for _, f := range o.Columns.Fields() {
		ok := false
		for _, name := range OptoutFields {
			ok = ok || f.Name == name || (name == "address" && strings.HasPrefix(f.Name, "address["))
		}
		if !ok {
			return fmt.Errorf("optouts.columns.%s: a form is read for %v only", f.Name, OptoutFields)
		}
	}
	if !o.FromHeader && len(o.Columns.Fields()) == 0 {
		return errors.New("optouts.columns: map at least nhs_number, or the names and date of birth")
	}
	o.Source = Source{ID: OptoutsID, Kind: KindOther, Path: o.Path, Format: "csv", Encoding: o.Encoding,
		Delimiter: o.Delimiter, DateFormat: o.DateFormat, Columns: o.Columns}
	if err := o.Source.check(dir); err != nil {
		return fmt.Errorf("optouts: %v", err)
	}
	o.Path = o.Source.Path
	return nil
}
