// Package publish owns the life of one run's publication: the lock that keeps
// two nightly runs apart, the run ID, the half-written folder nobody reads,
// and the atomic switch of `current` once everything is complete. A run that
// fails or is killed before Commit leaves `current`, the previous run and the
// committed state exactly as they were.
//
// Layout:
//
//	<publish_dir>/.partial-<run_id>/   being written; removed on failure
//	<publish_dir>/<run_id>/            complete
//	<publish_dir>/current              symlink to the last complete run
//	<state_dir>/carematch.lock         held (flock) while a run is going
//	<state_dir>/runs/<run_id>.duckdb   that night's database
//	<state_dir>/current.duckdb         symlink to the last committed one
//	<state_dir>/failed/<run_id>.json   the manifest of a run that failed
//	<publish_dir>/.carematch-state     the state directory that owns this
//	                                   publish_dir (two would prune each
//	                                   other's runs)
//
// Commit switches two pointers, the state's and the publication's, each
// atomically; a kill between the two leaves the state one night ahead. The
// next Begin, under the lock, finishes that commit (the run's folder is
// complete: it was renamed into place before either switch), so the two
// always name the same night when a run starts.
package publish

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Errors from Begin.
var (
	ErrLocked      = errors.New("another carematch run is using this state directory")
	ErrNotOwnState = errors.New("the publish directory belongs to another state directory")
)

// TestHookBetweenSwitches, when set (by tests only), runs in Commit between
// the switch of the state pointer and the switch of `current`: the kill test
// kills the process there.
var TestHookBetweenSwitches func()

// RunIDLayout formats a run ID: the UTC start time.
const RunIDLayout = "20060102T150405Z"

// Run is one run's publication in progress.
type Run struct {
	ID         string
	Started    time.Time
	PublishDir string
	StateDir   string
	// Repaired is the run whose interrupted commit Begin finished, or "".
	Repaired string
	lock     *os.File
	done     bool
	// syncing are the folder's syncs started beside the night (SyncBeside).
	syncing []chan struct{}
}

// Begin takes the lock and picks the run ID. now is the start time; if a run
// with that second's ID already exists, Begin waits for the next second so
// every run ID stays a plain UTC time.
func Begin(publishDir, stateDir string, now func() time.Time) (*Run, error) {
	for _, d := range []string{publishDir, filepath.Join(stateDir, "runs"), filepath.Join(stateDir, "failed")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	lockPath := filepath.Join(stateDir, "carematch.lock")
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(lockPath)
		f.Close()
		return nil, fmt.Errorf("%w (%s, held by pid %s): wait for it to finish", ErrLocked, lockPath, strings.TrimSpace(string(holder)))
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	r := &Run{PublishDir: publishDir, StateDir: stateDir, lock: f}
	if err := claim(publishDir, stateDir); err != nil {
		r.release()
		return nil, err
	}
	if r.Repaired, err = reconcile(publishDir, stateDir); err != nil {
		r.release()
		return nil, fmt.Errorf("finish the last run's commit: %w", err)
	}
	for {
		r.Started = now().UTC().Truncate(time.Second)
		r.ID = r.Started.Format(RunIDLayout)
		if !exists(filepath.Join(publishDir, r.ID)) && !exists(r.partial()) && !exists(r.StatePath()) && !exists(filepath.Join(stateDir, "failed", r.ID+".json")) {
			break
		}
		time.Sleep(time.Until(r.Started.Add(time.Second)) + time.Millisecond)
	}
	if err := os.Mkdir(r.partial(), 0o755); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

// claim makes stateDir the owner of publishDir on the first run, and
// refuses a publishDir another state directory owns: each would take the
// other's runs for its own and prune them.
func claim(publishDir, stateDir string) error {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	marker := filepath.Join(publishDir, ".carematch-state")
	owner, err := os.ReadFile(marker)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(marker, []byte(abs+"\n"), 0o640)
	}
	if err != nil {
		return err
	}
	if o := strings.TrimSpace(string(owner)); o != abs {
		return fmt.Errorf("%w: %s is written by the runs of %s; give each state_dir its own publish_dir (if that state directory has moved here, remove %s)", ErrNotOwnState, publishDir, o, marker)
	}
	return nil
}

// reconcile finishes a commit killed between its two switches: the state
// pointer names a night whose folder is complete but `current` does not.
// It returns that night's run ID, or "" when there was nothing to finish
// (the two agree, or the night's folder is not in this publish_dir).
func reconcile(publishDir, stateDir string) (string, error) {
	state := strings.TrimSuffix(filepath.Base(PreviousState(stateDir)), ".duckdb")
	if PreviousState(stateDir) == "" || state == filepath.Base(Current(publishDir)) {
		return "", nil
	}
	if !exists(filepath.Join(publishDir, state)) {
		return "", nil // a new publish_dir, or its runs removed by hand: nothing to finish
	}
	return state, switchLink(filepath.Join(publishDir, "current"), state)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func (r *Run) partial() string { return filepath.Join(r.PublishDir, ".partial-"+r.ID) }

// Dir is where this run's files are written until Commit.
func (r *Run) Dir() string { return r.partial() }

// FinalDir is where the run will be once committed.
func (r *Run) FinalDir() string { return filepath.Join(r.PublishDir, r.ID) }

// StatePath is this night's database file.
func (r *Run) StatePath() string { return filepath.Join(r.StateDir, "runs", r.ID+".duckdb") }

// PreviousState is the last committed database, or "" on the first night.
func PreviousState(stateDir string) string {
	p, err := filepath.EvalSymlinks(filepath.Join(stateDir, "current.duckdb"))
	if err != nil {
		return ""
	}
	return p
}

// Current is the folder `current` points at, or "" before the first run.
func Current(publishDir string) string {
	p, err := filepath.EvalSymlinks(filepath.Join(publishDir, "current"))
	if err != nil {
		return ""
	}
	return p
}

// Commit makes the run visible: the folder is synced and renamed into place,
// then the state pointer and `current` are switched, each by an atomic rename
// of a new symlink over the old one. Then, still under the lock, publications
// beyond the newest keep are pruned; their names are returned.
func (r *Run) Commit(keep int) (pruned []string, err error) {
	r.waitSyncs()
	if err := syncTree(r.partial()); err != nil {
		return nil, err
	}
	if err := os.Rename(r.partial(), r.FinalDir()); err != nil {
		return nil, err
	}
	if err := switchLink(filepath.Join(r.StateDir, "current.duckdb"), filepath.Join("runs", r.ID+".duckdb")); err != nil {
		return nil, err
	}
	if TestHookBetweenSwitches != nil {
		TestHookBetweenSwitches()
	}
	if err := switchLink(filepath.Join(r.PublishDir, "current"), r.ID); err != nil {
		return nil, err
	}
	r.done = true
	defer r.release()
	return prune(r.PublishDir, r.StateDir, keep)
}

// Abort removes what the run wrote (its folder and database) and writes its
// manifest, if any, to <state_dir>/failed/ for the data team.
func (r *Run) Abort(manifest []byte) string {
	if r.done {
		return ""
	}
	r.waitSyncs()
	os.RemoveAll(r.partial())
	os.Remove(r.StatePath())
	os.Remove(r.StatePath() + ".wal")
	var kept string
	if manifest != nil {
		kept = filepath.Join(r.StateDir, "failed", r.ID+".json")
		if os.WriteFile(kept, manifest, 0o640) != nil {
			kept = ""
		}
	}
	r.done = true
	r.release()
	return kept
}

// SyncBeside starts writing the files in the run's folder so far to disk
// while the night goes on: the portal's files are over a gigabyte at two
// million records, and syncing them all at Commit was most of the second
// the night waited there on an idle machine (docs/BENCHMARKS.md, the
// twenty-sixth session). Commit (and Abort) wait for it, and Commit syncs
// the whole folder again, which costs little for files already written
// and catches what came after or what a failed sync here missed: this
// sync's errors are Commit's to find, not this one's to report.
func (r *Run) SyncBeside() {
	done := make(chan struct{})
	r.syncing = append(r.syncing, done)
	go func() {
		defer close(done)
		syncTree(r.partial())
	}()
}

// waitSyncs waits for the syncs SyncBeside started.
func (r *Run) waitSyncs() {
	for _, done := range r.syncing {
		<-done
	}
	r.syncing = nil
}

func (r *Run) release() {
	if r.lock != nil {
		syscall.Flock(int(r.lock.Fd()), syscall.LOCK_UN)
		r.lock.Close()
		r.lock = nil
	}
}

func switchLink(link, target string) error {
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		return err
	}
	return syncDir(filepath.Dir(link))
}

func syncTree(root string) error {
	return filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// prune removes published runs and their databases beyond the newest keep,
// and half-written folders of runs that were killed. The run `current`
// points at is never removed. The caller holds the lock.
func prune(publishDir, stateDir string, keep int) (removed []string, err error) {
	entries, err := os.ReadDir(publishDir)
	if err != nil {
		return nil, err
	}
	cur := filepath.Base(Current(publishDir))
	var runs []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".partial-") {
			if err := os.RemoveAll(filepath.Join(publishDir, name)); err != nil {
				return removed, err
			}
			continue
		}
		if _, perr := time.Parse(RunIDLayout, name); perr == nil && e.IsDir() {
			runs = append(runs, name)
		}
	}
	sort.Strings(runs)
	for i := 0; i < len(runs)-keep; i++ {
		if runs[i] == cur {
			continue
		}
		if err := os.RemoveAll(filepath.Join(publishDir, runs[i])); err != nil {
			return removed, err
		}
		os.Remove(filepath.Join(stateDir, "runs", runs[i]+".duckdb"))
		removed = append(removed, runs[i])
	}
	// Databases of runs that never committed (killed before Commit).
	dbs, _ := filepath.Glob(filepath.Join(stateDir, "runs", "*.duckdb*"))
	curDB := PreviousState(stateDir)
	for _, db := range dbs {
		id := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(db), ".wal"), ".duckdb")
		if db == curDB || exists(filepath.Join(publishDir, id)) {
			continue
		}
		os.Remove(db)
	}
	return removed, nil
}
