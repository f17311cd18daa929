package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/selondon/carematch/publish"
)

// The txtar scripts in testdata/script run the real carematch command, as a
// user or a scheduler would: exit codes, stdout, stderr and files.
func TestMain(m *testing.M) {
	// The kill test runs this binary as carematch itself.
	if os.Getenv("CAREMATCH_TEST_AS_MAIN") == "1" {
		if os.Getenv("CAREMATCH_TEST_KILL_BETWEEN_SWITCHES") == "1" {
			publish.TestHookBetweenSwitches = func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
		}
		os.Exit(mainCode(os.Args, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"carematch":       func() { os.Exit(mainCode(os.Args, os.Stdout, os.Stderr)) },
		"check-published": checkPublished,
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}

// checkPublished is the script command check-published N: exactly N runs are
// published, `current` points at the newest, and no half-written folder is
// left behind.
func checkPublished() {
	want, _ := strconv.Atoi(os.Args[1])
	entries, err := os.ReadDir("var/publish")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var runs []string
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), ".partial-"):
			fmt.Fprintln(os.Stderr, "half-written run left:", e.Name())
			os.Exit(1)
		case e.Name() == "carematch.prom" && !e.IsDir(): // the last night's metrics, failed or not
		case e.Name() != "current" && e.Name() != ".carematch-state":
			runs = append(runs, e.Name())
		}
	}
	cur, err := os.Readlink("var/publish/current")
	if len(runs) != want || err != nil || cur != runs[len(runs)-1] {
		fmt.Fprintf(os.Stderr, "runs %v, current %q (%v); want %d runs, current the newest\n", runs, cur, err, want)
		os.Exit(1)
	}
}
