package publish

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// clock returns times a second apart, so each run gets its own ID at once.
func clock() func() time.Time {
	t := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// night begins a run, writes a file and its database, and commits.
func night(t *testing.T, pub, state string, now func() time.Time, keep int) *Run {
	t.Helper()
	r, err := Begin(pub, state, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir(), "manifest.json"), []byte("{}"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.StatePath(), []byte("db"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commit(keep); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCommitAbortAndLock(t *testing.T) {
	dir := t.TempDir()
	pub, state := filepath.Join(dir, "publish"), filepath.Join(dir, "state")
	now := clock()
	first := night(t, pub, state, now, 5)
	if Current(pub) != first.FinalDir() || PreviousState(state) != first.StatePath() {
		t.Fatalf("after commit: current %s, state %s", Current(pub), PreviousState(state))
	}

	r, err := Begin(pub, state, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(pub, state, now); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second run at once: %v", err)
	}
	os.WriteFile(r.StatePath(), []byte("db"), 0o640)
	kept := r.Abort([]byte(`{"status":"failed"}`))
	if kept != filepath.Join(state, "failed", r.ID+".json") {
		t.Fatalf("failed manifest kept at %q", kept)
	}
	if exists(r.Dir()) || exists(r.StatePath()) {
		t.Error("abort left the run's folder or database")
	}
	if Current(pub) != first.FinalDir() || PreviousState(state) != first.StatePath() {
		t.Error("abort moved a pointer")
	}
	if _, err := Begin(pub, state, now); err != nil {
		t.Fatalf("the lock was not released by abort: %v", err)
	}
}

// Retention keeps the newest runs and `current`, and clears what killed
// runs left (half-written folders, databases with no publication).
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	pub, state := filepath.Join(dir, "publish"), filepath.Join(dir, "state")
	now := clock()
	var runs []*Run
	for range 3 {
		runs = append(runs, night(t, pub, state, now, 10))
	}
	os.Mkdir(filepath.Join(pub, ".partial-20261124T010000Z"), 0o750)
	os.WriteFile(filepath.Join(state, "runs", "20261124T010000Z.duckdb"), nil, 0o640)
	last := night(t, pub, state, now, 2)
	for i, r := range append(runs, last) {
		want := i >= 2
		if exists(r.FinalDir()) != want || exists(r.StatePath()) != want {
			t.Errorf("run %d: kept %v, want %v", i, exists(r.FinalDir()), want)
		}
	}
	if exists(filepath.Join(pub, ".partial-20261124T010000Z")) || exists(filepath.Join(state, "runs", "20261124T010000Z.duckdb")) {
		t.Error("a killed run's leftovers were not pruned")
	}
}

// A commit killed between its two switches is finished by the next Begin.
func TestBeginFinishesAnInterruptedCommit(t *testing.T) {
	dir := t.TempDir()
	pub, state := filepath.Join(dir, "publish"), filepath.Join(dir, "state")
	now := clock()
	first := night(t, pub, state, now, 5)
	second, err := Begin(pub, state, now)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(second.StatePath(), []byte("db"), 0o640)
	TestHookBetweenSwitches = func() { panic("killed") }
	func() {
		defer func() { recover() }()
		second.Commit(5)
	}()
	TestHookBetweenSwitches = nil
	second.release() // as the kernel does for a killed process
	if Current(pub) != first.FinalDir() {
		t.Fatal("the hook did not stop the commit between the switches")
	}
	killed := PreviousState(state)
	r, err := Begin(pub, state, now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort(nil)
	want := filepath.Base(killed[:len(killed)-len(".duckdb")])
	if r.Repaired != want || Current(pub) != filepath.Join(pub, want) {
		t.Fatalf("repaired %q, current %s; want %s", r.Repaired, Current(pub), want)
	}
}

// A state directory pointed at a new, empty publish directory publishes
// there: there is no interrupted commit to finish.
func TestNewPublishDir(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	now := clock()
	night(t, filepath.Join(dir, "old"), state, now, 5)
	r := night(t, filepath.Join(dir, "new"), state, now, 5)
	if r.Repaired != "" || Current(filepath.Join(dir, "new")) != r.FinalDir() {
		t.Fatalf("repaired %q, current %s", r.Repaired, Current(filepath.Join(dir, "new")))
	}
}

// Two state directories cannot share one publish directory.
func TestPublishDirHasOneOwner(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "publish")
	night(t, pub, filepath.Join(dir, "a"), clock(), 5)
	if _, err := Begin(pub, filepath.Join(dir, "b"), clock()); !errors.Is(err, ErrNotOwnState) {
		t.Fatalf("another state directory: %v", err)
	}
	r, err := Begin(pub, filepath.Join(dir, "a"), time.Now)
	if err != nil {
		t.Fatalf("the owner: %v", err)
	}
	r.Abort(nil)
}

// TestSyncBeside: files written before and after a sync beside the night
// are all published, Commit and Abort wait for the syncs, and an aborted
// run's folder goes whatever its syncs were doing.
func TestSyncBeside(t *testing.T) {
	dir := t.TempDir()
	pub, state := filepath.Join(dir, "publish"), filepath.Join(dir, "state")
	now := clock()
	write := func(r *Run, names ...string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(r.Dir(), "portal"), 0o750); err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(r.Dir(), name), make([]byte, 1<<16), 0o640); err != nil {
				t.Fatal(err)
			}
		}
	}
	r, err := Begin(pub, state, now)
	if err != nil {
		t.Fatal(err)
	}
	write(r, "portal/patients.ndjson", "portal/xref.csv")
	r.SyncBeside()
	write(r, "manifest.json")
	r.SyncBeside()
	os.WriteFile(r.StatePath(), []byte("db"), 0o640)
	if _, err := r.Commit(5); err != nil {
		t.Fatal(err)
	}
	if r.syncing != nil {
		t.Error("Commit returned with syncs beside it pending")
	}
	for _, name := range []string{"portal/patients.ndjson", "portal/xref.csv", "manifest.json"} {
		if fi, err := os.Stat(filepath.Join(r.FinalDir(), name)); err != nil || fi.Size() != 1<<16 {
			t.Errorf("%s published: %v", name, err)
		}
	}

	r, err = Begin(pub, state, now)
	if err != nil {
		t.Fatal(err)
	}
	write(r, "portal/patients.ndjson")
	r.SyncBeside()
	r.Abort(nil)
	if r.syncing != nil || exists(r.Dir()) {
		t.Errorf("abort: syncs pending %v, folder left %v", r.syncing != nil, exists(r.Dir()))
	}
}
