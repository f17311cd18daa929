package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selondon/carematch/publish"
)

// A run killed outright (SIGKILL, no chance to clean up) at any stage leaves
// the previous publication, `current` and the committed state as they were;
// the next run succeeds and clears what the killed run left behind.
func TestKilledRun(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real runs")
	}
	dir := fixtureDir(t, 2_000)
	cfg := freshConfig(t, dir)
	first, err := nightly(context.Background(), cfg, nightlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := configCopy(t, dir, cfg)
	self, _ := os.Executable()
	statePointer := func() string { return publish.PreviousState(cfg.Run.StateDir) }
	wantState, wantCurrent := statePointer(), publish.Current(cfg.Run.PublishDir)
	manifestBefore, _ := os.ReadFile(filepath.Join(wantCurrent, "manifest.json"))

	for _, stage := range []string{"load", "link", "index", "portal"} {
		cmd := exec.Command(self, "run", "--config", cfgPath)
		cmd.Env = append(os.Environ(), "CAREMATCH_TEST_AS_MAIN=1")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		killed := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), stage+": started") {
				time.Sleep(30 * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("the run never reached %s", stage)
		}
		if got := publish.Current(cfg.Run.PublishDir); got != wantCurrent {
			t.Fatalf("killed at %s: current moved to %s", stage, got)
		}
		if got := statePointer(); got != wantState {
			t.Fatalf("killed at %s: committed state moved to %s", stage, got)
		}
		if after, _ := os.ReadFile(filepath.Join(wantCurrent, "manifest.json")); string(after) != string(manifestBefore) {
			t.Fatalf("killed at %s: the previous publication changed", stage)
		}
	}
	// Killed inside the commit, between the state's switch and current's:
	// the state is a night ahead of current. The next run, under the lock,
	// finishes that commit before anything else, so both name the same night
	// even if that run then fails.
	cmd := exec.Command(self, "run", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "CAREMATCH_TEST_AS_MAIN=1", "CAREMATCH_TEST_KILL_BETWEEN_SWITCHES=1")
	if err := cmd.Run(); err == nil {
		t.Fatal("the run was not killed in its commit")
	}
	killedState := statePointer()
	if killedState == wantState || publish.Current(cfg.Run.PublishDir) != wantCurrent {
		t.Fatalf("not the moment between the switches: state %s, current %s", killedState, publish.Current(cfg.Run.PublishDir))
	}
	if _, err := nightly(context.Background(), cfg, nightlyOptions{stopAfter: "load"}); err != errStopped {
		t.Fatalf("the run after: %v", err)
	}
	killedRun := strings.TrimSuffix(filepath.Base(killedState), ".duckdb")
	if got := publish.Current(cfg.Run.PublishDir); got != filepath.Join(cfg.Run.PublishDir, killedRun) || statePointer() != killedState {
		t.Fatalf("commit not finished: current %s, state %s", got, statePointer())
	}

	// The next run takes the lock the dead ones held, succeeds, and prunes
	// their half-written folders.
	second, err := nightly(context.Background(), cfg, nightlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.RunID == first.RunID || publish.Current(cfg.Run.PublishDir) != filepath.Join(cfg.Run.PublishDir, second.RunID) {
		t.Fatal("the next run did not publish")
	}
	entries, _ := os.ReadDir(cfg.Run.PublishDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".partial-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
