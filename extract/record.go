package extract

import (
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/rules"
	"github.com/selondon/carematch/store"
)

// mapping holds, for each canonical field, the index of its column in the
// file's header (-1 when the source does not map the field).
type mapping struct {
	localID, nhs, status, title, given, middle, family, previous, dob, sex int
	postcode, sensitive, consent, dod, deleted, updated                    int
	address                                                                []int
	extras                                                                 []int // aligned with the loader's extras
	columns                                                                []string
}

// bind finds every configured column in the header. A missing one is fatal.
func (m *mapping) bind(src *config.Source, header []string) *SourceError {
	pos := make(map[string][]int, len(header))
	for i, h := range header {
		pos[h] = append(pos[h], i)
	}
	find := func(field, col string) (int, *SourceError) {
		if col == "" {
			return -1, nil
		}
		if at := pos[col]; len(at) > 1 {
			return -1, duplicateColumn(field, col, at)
		} else if len(at) == 1 {
			return at[0], nil
		}
		detail := ""
		for _, h := range header {
			if strings.EqualFold(h, col) {
				detail = fmt.Sprintf("the header has %q: column names are matched exactly", h)
			}
		}
		return -1, &SourceError{Line: 1, Field: field, Column: col, Err: ErrMissingColumn, Detail: detail}
	}
	c := &src.Columns
	var err *SourceError
	for _, f := range []struct {
		dst   *int
		field string
		col   string
	}{
		{&m.localID, "local_id", c.LocalID}, {&m.nhs, "nhs_number", c.NHSNumber},
		{&m.status, "nhs_number_status", c.NHSNumberStatus}, {&m.title, "title", c.Title},
		{&m.given, "given_name", c.GivenName}, {&m.middle, "middle_names", c.MiddleNames},
		{&m.family, "family_name", c.FamilyName}, {&m.previous, "previous_family_name", c.PreviousFamilyName},
		{&m.dob, "date_of_birth", c.DateOfBirth}, {&m.sex, "sex", c.Sex}, {&m.postcode, "postcode", c.Postcode},
		{&m.sensitive, "sensitive", c.Sensitive}, {&m.consent, "consent", c.Consent},
		{&m.dod, "date_of_death", c.DateOfDeath}, {&m.deleted, "deleted", c.Deleted}, {&m.updated, "updated", c.Updated},
	} {
		if *f.dst, err = find(f.field, f.col); err != nil {
			return err
		}
	}
	m.address = m.address[:0]
	for i, a := range c.Address {
		j, err := find(fmt.Sprintf("address[%d]", i), a)
		if err != nil {
			return err
		}
		m.address = append(m.address, j)
	}
	m.columns = header
	return nil
}

func (m *mapping) bindExtras(src *config.Source, header []string, extras []string) *SourceError {
	m.extras = m.extras[:0]
	for _, x := range extras {
		col, ok := src.Columns.Extra[x]
		if !ok {
			m.extras = append(m.extras, -1)
			continue
		}
		var at []int
		for i, h := range header {
			if h == col {
				at = append(at, i)
			}
		}
		if len(at) > 1 {
			return duplicateColumn("extra."+x, col, at)
		}
		j := -1
		if len(at) == 1 {
			j = at[0]
		}
		if j < 0 {
			return &SourceError{Line: 1, Field: "extra." + x, Column: col, Err: ErrMissingColumn}
		}
		m.extras = append(m.extras, j)
	}
	return nil
}

// duplicateColumn is the error for a configured column the header names
// more than once: binding to either would be a guess.
func duplicateColumn(field, col string, at []int) *SourceError {
	nums := make([]string, len(at))
	for i, a := range at {
		nums[i] = fmt.Sprint(a + 1)
	}
	return &SourceError{Line: 1, Field: field, Column: col, Err: ErrDuplicateColumn,
		Detail: "it is column " + strings.Join(nums, " and ") + " of the header"}
}

func get(vals [][]byte, i int) string {
	if i < 0 || i >= len(vals) {
		return ""
	}
	return strings.TrimSpace(string(vals[i]))
}

func str(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// record standardises one row and appends it, with its value exceptions.
// It returns false when the row was rejected instead.
func (l *loader) record(vals [][]byte, line int64) (bool, error) {
	m, src := &l.m, l.src
	localID := get(vals, m.localID)
	if localID == "" {
		return false, l.exception(KindRejectedRow, "", line, "local_id", "missing local_id", "")
	}
	if first, dup := l.seen[localID]; dup {
		return false, l.exception(KindRejectedRow, localID, line, "local_id",
			fmt.Sprintf("duplicate local_id within the extract (first at line %d)", first), localID)
	}
	l.seen[localID] = line
	exc := func(kind, field, reason, value string) error {
		return l.exception(kind, localID, line, field, reason, value)
	}
	r := l.row
	for i := range r {
		r[i] = nil
	}
	r[0], r[1], r[2], r[3], r[4] = src.ID, src.Kind, localID, l.file, line

	// NHS number and its status.
	verified := false
	r[27] = false
	if raw := get(vals, m.nhs); raw != "" {
		n := rules.ParseNHSNumber(raw)
		switch {
		case !n.Valid():
			if err := exc(KindInvalidNHS, "nhs_number", string(n.Reason), raw); err != nil {
				return false, err
			}
		case n.Test():
			r[27] = true
			if err := exc(KindInvalidNHS, "nhs_number", "test range: 9xxxxxxxxx numbers are never issued to a person", raw); err != nil {
				return false, err
			}
		default:
			r[5] = n.Number
		}
	}
	if raw := get(vals, m.status); raw != "" {
		if mapped, ok := src.Values["nhs_number_status"][raw]; ok {
			raw = mapped
		}
		code, ok := rules.NHSNumberStatus(raw)
		if !ok {
			if err := exc(KindInvalidValue, "nhs_number_status", "not an NHS Number Status Indicator Code (01–08)", raw); err != nil {
				return false, err
			}
		}
		r[6] = str(code)
		verified = code == rules.NHSStatusVerified && r[5] != nil
	}
	r[7] = verified

	// Names.
	title := rules.StandardiseName(get(vals, m.title))
	givenRaw := get(vals, m.given)
	given, leaked := rules.StripTitles(rules.StandardiseName(givenRaw))
	if title == "" {
		title = leaked
	}
	familyRaw := get(vals, m.family)
	r[8] = str(title)
	r[9] = str(given)
	r[10] = str(rules.StandardiseName(get(vals, m.middle)))
	r[11] = str(rules.StandardiseName(familyRaw))
	r[12] = str(rules.StandardiseName(get(vals, m.previous)))
	r[13] = str(givenRaw)
	r[14] = str(familyRaw)

	// Date of birth.
	if raw := get(vals, m.dob); raw != "" {
		d := rules.ParseDateOfBirth(src.DateLayout, raw, l.opt.Today)
		if d.Reason != "" {
			if err := exc(KindInvalidDOB, "date_of_birth", string(d.Reason), raw); err != nil {
				return false, err
			}
		} else {
			r[15] = d.Time
		}
	}

	// Sex.
	if raw := get(vals, m.sex); raw != "" {
		sex, ok := rules.ParseSex(raw, src.Values["sex"])
		if !ok {
			if err := exc(KindInvalidValue, "sex", "unrecognised sex code (add it to [source.values] sex)", raw); err != nil {
				return false, err
			}
		}
		r[16] = string(sex)
	}

	// Address and postcode.
	if len(m.address) > 0 {
		lines := make([]string, 0, len(m.address))
		for _, i := range m.address {
			if v := get(vals, i); v != "" {
				lines = append(lines, v)
			}
		}
		std := rules.StandardiseAddress(lines...)
		r[17] = str(std)
		r[18] = str(strings.Join(lines, ", "))
		key, num := rules.AddressKey(std)
		r[28], r[29] = str(key), str(num)
	}
	if raw := get(vals, m.postcode); raw != "" {
		p := rules.ParsePostcode(raw)
		if p.Kind == rules.PostcodeInvalid {
			if err := exc(KindInvalidPost, "postcode", "not a valid UK postcode", raw); err != nil {
				return false, err
			}
		} else {
			r[19] = p.Code
		}
		r[20] = string(p.Kind)
	}

	// Flags.
	flag := func(idx int, field string) (value, known bool, err error) {
		raw := get(vals, idx)
		v, k, ok := rules.ParseYesNo(raw, src.Values[field])
		if !ok {
			return false, false, exc(KindInvalidValue, field, "not a yes/no value (add it to [source.values] "+field+")", raw)
		}
		return v, k, nil
	}
	sensitive, _, err := flag(m.sensitive, "sensitive")
	if err != nil {
		return false, err
	}
	r[21] = sensitive
	if consent, known, err := flag(m.consent, "consent"); err != nil {
		return false, err
	} else if known {
		r[22] = consent
	}
	if raw := get(vals, m.dod); raw != "" {
		d := rules.ParseDate(src.DateLayout, raw, l.opt.Today)
		if d.Reason != "" {
			if err := exc(KindInvalidValue, "date_of_death", string(d.Reason), raw); err != nil {
				return false, err
			}
		} else {
			r[23] = d.Time
		}
	}
	if raw := get(vals, m.updated); raw != "" {
		d := rules.ParseDate(src.DateLayout, raw, l.opt.Today)
		if d.Reason != "" {
			if err := exc(KindInvalidValue, "updated", string(d.Reason), raw); err != nil {
				return false, err
			}
		} else {
			r[30] = d.Time
		}
	}
	deleted, _, err := flag(m.deleted, "deleted")
	if err != nil {
		return false, err
	}
	r[24] = deleted

	if given != "" {
		r[25] = rules.Phonetic(given)
	}
	if f, ok := r[11].(string); ok {
		r[26] = rules.Phonetic(f)
	}

	base := len(store.RecordColumns)
	for k, i := range m.extras {
		r[base+k] = str(get(vals, i))
	}
	return true, l.recs.Append(r...)
}
