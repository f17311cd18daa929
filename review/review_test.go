package review

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func decision(kind, left, right, reason string) Decision {
	l, _ := ParseRecord(left)
	d := Decision{Kind: kind, Left: l, Analyst: "ann", Reason: reason}
	if right != "" {
		r, _ := ParseRecord(right)
		d.Right = &r
	}
	return d
}

func mustDecide(t *testing.T, l *Log, d Decision) Decision {
	t.Helper()
	d, err := l.Decide(d)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func appendRaw(t *testing.T, l *Log, text string) {
	t.Helper()
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// The fold: the latest decision about a pair wins (in either order), a
// revoke withdraws one, a detach is about one record.
func TestFold(t *testing.T) {
	l := Open(t.TempDir())
	d1 := mustDecide(t, l, decision(Link, "a:1", "b:2", "same person"))
	d2 := mustDecide(t, l, decision(NoLink, "b:2", "a:1", "twins after all"))
	d3 := mustDecide(t, l, decision(Detach, "c:3", "", "wrong person"))
	if err := l.Revoke(d3.ID, "bob", "detached by mistake"); err != nil {
		t.Fatal(err)
	}
	if err := l.Revoke(d3.ID, "bob", "again"); !errors.Is(err, ErrNoDecision) {
		t.Fatalf("second revoke: %v", err)
	}
	f, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.InForce) != 1 || f.InForce[0].ID != d2.ID || f.InForce[0].Kind != NoLink {
		t.Fatalf("in force: %+v", f.InForce)
	}
	if len(f.Superseded) != 1 || f.Superseded[0].Decision.ID != d1.ID || f.Superseded[0].By != d2.ID {
		t.Fatalf("superseded: %+v", f.Superseded)
	}
	if len(f.Unreadable) != 0 {
		t.Fatalf("unreadable: %+v", f.Unreadable)
	}
}

// Every entry point refuses a field over its limit or with control
// characters, so no decision can make a line the log cannot read back.
func TestDecideLimits(t *testing.T) {
	long := strings.Repeat("x", MaxReasonBytes+1)
	for _, tc := range []struct {
		name string
		d    Decision
		want string
	}{
		{"reason too long", decision(Link, "a:1", "b:2", long), "reason is over"},
		{"analyst too long", func() Decision {
			d := decision(Link, "a:1", "b:2", "ok")
			d.Analyst = strings.Repeat("a", MaxAnalystBytes+1)
			return d
		}(), "name is over"},
		{"control character", decision(Link, "a:1", "b:2", "line\x00break"), "plain text"},
		{"no reason", decision(Link, "a:1", "b:2", " "), "needs the analyst's name and a reason"},
		{"same record", decision(NoLink, "a:1", "a:1", "x"), "two different records"},
		{"detach with two", decision(Detach, "a:1", "b:2", "x"), "about one record"},
		{"unknown kind", decision("merge", "a:1", "b:2", "x"), "is not link"},
		{"long local id", decision(Link, "a:"+strings.Repeat("9", MaxIDBytes+1), "b:2", "x"), "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Open(t.TempDir())
			if _, err := l.Decide(tc.d); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if err := l.Revoke("D000001", "ann", strings.Repeat("y", MaxReasonBytes+1)); err == nil {
				t.Fatal("revoke took an over-long reason")
			}
		})
	}
	// Import is an entry point too: its line is named.
	l := Open(t.TempDir())
	csv := strings.Join(csvHeader, ",") + "\nD1,link,a,1,b,2,ann,ok,2026-01-01T00:00:00Z\nD2,link,a,1,c,3,ann," + long + ",2026-01-01T00:00:00Z\n"
	n, _, err := l.Import(strings.NewReader(csv), "bob")
	if n != 1 || err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("import: %d, %v", n, err)
	}
}

// Importing an export twice records its decisions once.
func TestImportIsIdempotent(t *testing.T) {
	l := Open(t.TempDir())
	csv := strings.Join(csvHeader, ",") + "\nD1,link,a,1,b,2,ann,same person,2026-01-01T00:00:00Z\nD2,no_link,a,1,c,3,ann,twins,2026-01-02T00:00:00Z\n"
	for i, want := range [][2]int{{2, 0}, {0, 2}} {
		n, already, err := l.Import(strings.NewReader(csv), "bob")
		if err != nil || n != want[0] || already != want[1] {
			t.Fatalf("import %d: %d imported, %d already, %v; want %v", i+1, n, already, err, want)
		}
	}
	if in, _, err := l.InForce(); err != nil || len(in) != 2 {
		t.Fatalf("%d decisions in force (%v), want 2", len(in), err)
	}
}

// A log damaged by an earlier version, a crash or a hand edit still gives
// every good decision; each bad line is named, and the next append repairs a
// torn tail so it cannot glue itself to the new entry.
func TestDamagedLog(t *testing.T) {
	for _, tc := range []struct {
		name      string
		damage    string // appended after one good decision
		bad       []int  // unreadable lines
		torn      bool
		afterNext int // lines unreadable after the next Decide
	}{
		{"trailing blank lines", "\n\n  \n", nil, false, 0},
		{"torn last line", `{"action":"decide","decision":{"id":"D0000`, []int{2}, true, 0},
		{"complete last line without newline", `{"action":"revoke","revokes":"D000001","analyst":"bob","reason":"x","at":"2026-01-01T00:00:00Z"}`, nil, false, 0},
		{"a line over the limit", `{"action":"decide","reason":"` + strings.Repeat("r", 2<<20) + "\"}\n", []int{2}, false, 1},
		{"not JSON in the middle", "garbage\n", []int{2}, false, 1},
		{"decide without its decision", `{"action":"decide","analyst":"x"}` + "\n", []int{2}, false, 1},
		{"unknown action", `{"action":"merge"}` + "\n", []int{2}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Open(t.TempDir())
			first := mustDecide(t, l, decision(Link, "a:1", "b:2", "same person"))
			appendRaw(t, l, tc.damage)
			f, err := l.Read()
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, b := range f.Unreadable {
				lines = append(lines, b.Line)
				if b.Torn != tc.torn {
					t.Errorf("line %d torn = %v", b.Line, b.Torn)
				}
				if b.Reason == "" {
					t.Errorf("line %d has no reason", b.Line)
				}
			}
			if len(lines) != len(tc.bad) || (len(lines) > 0 && lines[0] != tc.bad[0]) {
				t.Fatalf("unreadable lines %v, want %v", lines, tc.bad)
			}
			revoked := strings.Contains(tc.damage, `"revoke"`)
			if !revoked && (len(f.InForce) != 1 || f.InForce[0].ID != first.ID) {
				t.Fatalf("the good decision does not apply: %+v", f.InForce)
			}
			if revoked && len(f.InForce) != 0 {
				t.Fatalf("the last complete line was not applied: %+v", f.InForce)
			}
			second := mustDecide(t, l, decision(NoLink, "c:3", "d:4", "two people"))
			f, err = l.Read()
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Unreadable) != tc.afterNext {
				t.Fatalf("after the next decision: unreadable %+v", f.Unreadable)
			}
			found := false
			for _, d := range f.InForce {
				found = found || d.ID == second.ID
			}
			if !found {
				t.Fatalf("the new decision %s is not in force: %+v", second.ID, f.InForce)
			}
		})
	}
}

func TestOpenMissingLog(t *testing.T) {
	l := Open(filepath.Join(t.TempDir(), "none"))
	f, err := l.Read()
	if err != nil || len(f.InForce) != 0 {
		t.Fatalf("%+v %v", f, err)
	}
}
