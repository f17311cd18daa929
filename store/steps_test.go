package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A failing step's error names its stage and step and keeps DuckDB's error
// underneath; the steps after it do not run; an error that already names
// its step is not named twice.
func TestRunStepsNamesTheFailingStep(t *testing.T) {
	db, err := Open("", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	ran := false
	err = db.RunSteps(ctx, "index",
		Step{Name: "make t", SQL: "CREATE TABLE t AS SELECT 1 AS x"},
		Step{Name: "golden record", SQL: "SELECT no_such_column FROM t"},
		Step{Name: "after", Go: func(context.Context) error { ran = true; return nil }},
	)
	var se *StepError
	if !errors.As(err, &se) || se.Stage != "index" || se.Step != "golden record" {
		t.Fatalf("error %v", err)
	}
	if !strings.HasPrefix(err.Error(), "index: golden record: Binder Error") || ran {
		t.Errorf("error %q, later step ran %v", err, ran)
	}
	if again := InStep("link", "other", err); again != err {
		t.Errorf("named twice: %v", again)
	}
	if InStep("link", "x", nil) != nil {
		t.Error("nil became an error")
	}
}
