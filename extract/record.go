package extract

import (
	"fmt"
	"strconv"
	"strings"
	"time"

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
		if detail == "" {
			detail = columnsHint(col, header)
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

// columnsHint lists a header's columns for a configured column it lacks,
// and the likeliest one meant (a column name is no patient's value). A file
// whose first line is data, not a header, would have its first record
// printed so: a first line holding a run of four digits or more (a date,
// an NHS number, an ID) is not listed, and the hint says so instead.
func columnsHint(col string, header []string) string {
	if looksLikeData(header) {
		return "the file's first line holds numbers or dates, not column names: is its header missing?"
	}
	const most = 40
	quoted := make([]string, 0, min(len(header), most))
	best, bestD := "", 0
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				return r
			}
			return -1
		}, s)
	}
	for i, h := range header {
		if i < most {
			quoted = append(quoted, fmt.Sprintf("%q", h))
		}
		if d := editDistance(norm(col), norm(h)); best == "" || d < bestD {
			best, bestD = h, d
		}
	}
	more := ""
	if len(header) > most {
		more = fmt.Sprintf(" and %d more", len(header)-most)
	}
	hint := "the file's columns are " + strings.Join(quoted, ", ") + more
	if best != "" && bestD <= max(2, len(norm(col))/3) {
		hint += fmt.Sprintf("; did you mean %q?", best)
	}
	return hint
}

// looksLikeData says whether a first line has a cell with four digits or
// more in a row: column names seldom do, a patient's record nearly always
// does (a date of birth, an NHS number, a local ID).
func looksLikeData(header []string) bool {
	for _, h := range header {
		run := 0
		for _, r := range h {
			if r >= '0' && r <= '9' {
				if run++; run >= 4 {
					return true
				}
			} else {
				run = 0
			}
		}
	}
	return false
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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

// record standardises one row and appends it, with its value exceptions.
// It returns false when the row was rejected instead.
func (l *loader) record(vals [][]byte, line int64) (bool, error) {
	m, src := &l.m, l.src
	localID := get(vals, m.localID)
	if l.forms {
		localID = strconv.FormatInt(line, 10) // a form has no id of its own
	}
	if localID == "" {
		return false, l.exception(store.ExcRejectedRow, "", line, "local_id", "missing local_id", "")
	}
	if first, dup := l.seen.add(localID, line); dup {
		return false, l.exception(store.ExcRejectedRow, localID, line, "local_id",
			fmt.Sprintf("duplicate local_id within the extract (first at line %d)", first), localID)
	}
	// One rowWork serves every row of the source: a row's record is large,
	// and two million of them should not each be a new allocation.
	rw := &l.work
	extra := rw.r.Extra[:0]
	*rw = rowWork{l: l, vals: vals, r: store.Record{SourceID: src.ID, SourceKind: src.Kind, LocalID: localID, File: l.file, Line: line}}
	rw.nhsNumber()
	rw.names()
	rw.dates()
	rw.sex()
	rw.residence()
	rw.flags()
	if rw.err != nil {
		return false, rw.err
	}
	for _, i := range m.extras {
		extra = append(extra, get(vals, i))
	}
	rw.r.Extra = extra
	return true, l.recs.Write(&rw.r)
}

// rowWork is one row being standardised into a record; after the first
// error reporting a value, no more are reported (the run stops on it).
type rowWork struct {
	l    *loader
	vals [][]byte
	r    store.Record
	err  error
}

// exc reports a value of the row that a rule rejects; the row still loads.
func (w *rowWork) exc(kind store.ExceptionKind, field, reason, value string) {
	if w.err == nil {
		w.err = w.l.exception(kind, w.r.LocalID, w.r.Line, field, reason, value)
	}
}

func (w *rowWork) get(i int) string { return get(w.vals, i) }

func (w *rowWork) nhsNumber() {
	m, src := &w.l.m, w.l.src
	if raw := w.get(m.nhs); raw != "" {
		n := rules.ParseNHSNumber(raw)
		switch {
		case !n.Valid():
			w.exc(store.ExcInvalidNHS, "nhs_number", string(n.Reason), raw)
		case n.Test():
			w.r.NHSTestNumber = true
			w.exc(store.ExcInvalidNHS, "nhs_number", "test range (9xxxxxxxxx): the check digit is valid, but such numbers are never issued to a person (carematch nhs-number says so too)", raw)
		default:
			w.r.NHSNumber = n.Number
		}
	}
	if raw := w.get(m.status); raw != "" {
		if mapped, ok := src.Values["nhs_number_status"][raw]; ok {
			raw = mapped
		}
		code, ok := rules.NHSNumberStatus(raw)
		if !ok {
			w.exc(store.ExcInvalidValue, "nhs_number_status", "not an NHS Number Status Indicator Code (01–08)", raw)
		}
		w.r.NHSNumberStatus = code
		w.r.NHSVerified = code == rules.NHSStatusVerified && w.r.NHSNumber != ""
	}
}

func (w *rowWork) names() {
	m := &w.l.m
	title := rules.StandardiseName(w.get(m.title))
	givenRaw := w.get(m.given)
	given, leaked := rules.StripTitles(rules.StandardiseName(givenRaw))
	if title == "" {
		title = leaked
	}
	familyRaw := w.get(m.family)
	w.r.Title, w.r.GivenName = title, given
	w.r.MiddleNames = rules.StandardiseName(w.get(m.middle))
	w.r.FamilyName = rules.StandardiseName(familyRaw)
	w.r.PreviousFamily = rules.StandardiseName(w.get(m.previous))
	w.r.GivenDisplay, w.r.FamilyDisplay = givenRaw, familyRaw
	if given != "" {
		w.r.GivenPhonetic = rules.Phonetic(given)
	}
	if w.r.FamilyName != "" {
		w.r.FamilyPhonetic = rules.Phonetic(w.r.FamilyName)
	}
}

// dates reads the date of birth, of death, and of the last update, each in
// the source's date format.
func (w *rowWork) dates() {
	m, src, today := &w.l.m, w.l.src, w.l.opt.Today
	if raw := w.get(m.dob); raw != "" {
		if d := rules.ParseDateOfBirth(src.DateLayout, raw, today); d.Reason != "" {
			w.exc(store.ExcInvalidDOB, "date_of_birth", string(d.Reason), raw)
		} else {
			w.r.DateOfBirth = d.Time
		}
	}
	for _, f := range []struct {
		col   int
		field string
		dst   *time.Time
	}{{m.dod, "date_of_death", &w.r.DateOfDeath}, {m.updated, "updated", &w.r.Updated}} {
		if raw := w.get(f.col); raw != "" {
			if d := rules.ParseDate(src.DateLayout, raw, today); d.Reason != "" {
				w.exc(store.ExcInvalidValue, f.field, string(d.Reason), raw)
			} else {
				*f.dst = d.Time
			}
		}
	}
}

func (w *rowWork) sex() {
	if raw := w.get(w.l.m.sex); raw != "" {
		sex, ok := rules.ParseSex(raw, w.l.src.Values["sex"])
		if !ok {
			w.exc(store.ExcInvalidValue, "sex", "unrecognised sex code (add it to [source.values] sex)", raw)
		}
		w.r.Sex = string(sex)
	}
}

// residence reads the address lines and the postcode.
func (w *rowWork) residence() {
	m := &w.l.m
	if len(m.address) > 0 {
		lines := make([]string, 0, len(m.address))
		for _, i := range m.address {
			if v := w.get(i); v != "" {
				lines = append(lines, v)
			}
		}
		w.r.Address = rules.StandardiseAddress(lines...)
		w.r.AddressDisplay = strings.Join(lines, ", ")
		w.r.AddressKey, w.r.AddressNumber = rules.AddressKey(w.r.Address)
	}
	if raw := w.get(m.postcode); raw != "" {
		p := rules.ParsePostcode(raw)
		if p.Kind == rules.PostcodeInvalid {
			w.exc(store.ExcInvalidPost, "postcode", "not a valid UK postcode", raw)
		} else {
			w.r.Postcode = p.Code
		}
		w.r.PostcodeKind = string(p.Kind)
	}
}

// flags reads the yes/no fields: sensitive, consent and deleted.
func (w *rowWork) flags() {
	m, src := &w.l.m, w.l.src
	flag := func(idx int, field string) (value, known bool) {
		raw := w.get(idx)
		v, k, ok := rules.ParseYesNo(raw, src.Values[field])
		if !ok {
			w.exc(store.ExcInvalidValue, field, "not a yes/no value (add it to [source.values] "+field+")", raw)
		}
		return v, k
	}
	w.r.Sensitive, _ = flag(m.sensitive, "sensitive")
	if consent, known := flag(m.consent, "consent"); known {
		w.r.Consent = &consent
	}
	w.r.Deleted, _ = flag(m.deleted, "deleted")
}
