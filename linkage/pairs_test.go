package linkage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/selondon/carematch/rules"
	"github.com/selondon/carematch/store"
)

// pairCase is one line of testdata/pairs.txt.
type pairCase struct {
	line        int
	name        string
	left, right rec
	want        map[string]string
}

// setField sets one field of a test record by its name in pairs.txt.
func setField(r *rec, field, value string) error {
	ptr := map[string]*string{"given": &r.given, "middle": &r.middle, "family": &r.family, "previous": &r.previous,
		"dob": &r.dob, "sex": &r.sex, "postcode": &r.postcode, "postcode_kind": &r.postcodeKind, "address": &r.address,
		"nhs": &r.nhs, "updated": &r.updated}
	if field == "unverified" {
		r.unverified = value == "yes"
		return nil
	}
	p, ok := ptr[field]
	if !ok {
		return fmt.Errorf("no field %q", field)
	}
	*p = value
	return nil
}

// settings reads "k=v; k=v" into f(k, v).
func settings(s string, f func(k, v string) error) error {
	for _, kv := range strings.Split(s, ";") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value", kv)
		}
		if err := f(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	return nil
}

func readPairCases(t *testing.T, path string) []pairCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bases := map[string]rec{}
	var cases []pairCase
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		fail := func(err error) { t.Fatalf("%s:%d: %v", path, line, err) }
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
		case strings.HasPrefix(text, "base "):
			name, fields, _ := strings.Cut(strings.TrimPrefix(text, "base "), ":")
			var r rec
			if err := settings(fields, func(k, v string) error { return setField(&r, k, v) }); err != nil {
				fail(err)
			}
			bases[strings.TrimSpace(name)] = r
		default:
			cols := strings.Split(text, "|")
			if len(cols) != 5 {
				fail(fmt.Errorf("%d columns, want 5", len(cols)))
			}
			base, ok := bases[strings.TrimSpace(cols[1])]
			if !ok {
				fail(fmt.Errorf("no base %q", cols[1]))
			}
			c := pairCase{line: line, name: strings.TrimSpace(cols[0]), left: base, right: base, want: map[string]string{}}
			if err := settings(cols[2], func(k, v string) error { return setField(&c.left, k, v) }); err != nil {
				fail(err)
			}
			if err := settings(cols[3], func(k, v string) error { return setField(&c.right, k, v) }); err != nil {
				fail(err)
			}
			if err := settings(cols[4], func(k, v string) error { c.want[k] = v; return nil }); err != nil {
				fail(err)
			}
			cases = append(cases, c)
		}
	}
	return cases
}

// Every case of testdata/pairs.txt: the level of each comparison named, and
// the guard, as a run computes them.
func TestPairs(t *testing.T) {
	cases := readPairCases(t, "testdata/pairs.txt")
	var recs []rec
	var pairs [][2]int
	for i, c := range cases {
		recs = append(recs, c.left, c.right)
		pairs = append(pairs, [2]int{2 * i, 2*i + 1})
	}
	db, m := guardedDB(t, recs, pairs)
	for i, c := range cases {
		got := pairOutcome(t, db, m, 2*i+1, 2*i+2)
		for k, want := range c.want {
			v, ok := got[k]
			if !ok {
				t.Errorf("pairs.txt:%d %s: nothing called %q", c.line, c.name, k)
				continue
			}
			if k == "guard" {
				if (want == "none") != (v == "") || !strings.HasPrefix(v, strings.TrimSuffix(want, "none")) {
					t.Errorf("pairs.txt:%d %s: guard %q, want %q", c.line, c.name, v, want)
				}
				continue
			}
			if v != want {
				t.Errorf("pairs.txt:%d %s: %s %q, want %q", c.line, c.name, k, v, want)
			}
		}
	}
}

// pairOutcome reads a scored pair's level label per comparison, its guard's
// reason ("" for none) and whether the guard blocks ("yes" or "no").
func pairOutcome(t *testing.T, db *store.DB, m *Model, l, r int) map[string]string {
	t.Helper()
	cols := make([]string, len(m.Comparisons))
	for c, cmp := range m.Comparisons {
		cols[c] = LevelColumn(cmp)
	}
	levels := make([]int8, len(cols))
	var guard *string
	var blocks bool
	dest := []any{&guard, &blocks}
	for i := range levels {
		dest = append(dest, &levels[i])
	}
	q := fmt.Sprintf("SELECT guard, guard_blocks, %s FROM scores WHERE rid_l = ? AND rid_r = ?", strings.Join(cols, ", "))
	if err := db.QueryRowContext(context.Background(), q, l, r).Scan(dest...); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"guard": "", "blocks": "no"}
	for c, cmp := range m.Comparisons {
		out[cmp.Name] = cmp.Levels[levels[c]].Label
	}
	if guard != nil {
		out["guard"] = *guard
	}
	if blocks {
		out["blocks"] = "yes"
	}
	return out
}

// The given name's "short form" level in SQL and rules.IsShortForm in Go
// say the same of every pair of a list of names: listed pairs, starts and
// ends of names, and near misses.
func TestShortFormLevelAgreesWithRules(t *testing.T) {
	names := []string{"Oluwaseun", "Seun", "Funmilayo", "Funmi", "Olufunmilayo", "Katarzyna", "Kasia", "Kate",
		"Chukwuemeka", "Emeka", "Adeola", "Deola", "Dana", "Dan", "Daniel", "Tamara", "Amara", "Jo", "John",
		"Małgorzata", "Gosia", "Mehmet", "Memo", "Robert", "Bob", "Abdi", "Abdirahman", "Ali", "Alice", "Ifeoma", "Ife"}
	var recs []rec
	var pairs [][2]int
	for _, n := range names {
		recs = append(recs, rec{given: n, family: "Okafor", dob: "1980-01-02", sex: "female"})
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			pairs = append(pairs, [2]int{i, j})
		}
	}
	db, m := guardedDB(t, recs, pairs)
	for _, p := range pairs {
		a, b := rules.StandardiseName(names[p[0]]), rules.StandardiseName(names[p[1]])
		want := rules.IsShortForm(a, b) && !rules.AreNicknames(a, b)
		if got := pairOutcome(t, db, m, p[0]+1, p[1]+1)["given_name"] == "short form"; got != want {
			t.Errorf("%s and %s: short form level %v, rules.IsShortForm %v", a, b, got, want)
		}
	}
}
