package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A pipeline stage is a list of named steps, most of them one SQL statement
// with the table it makes (Splink's "named SQL step with its output
// table"): built in one place, run in another, and a failure names itself.
// A DuckDB error on its own ("Binder Error: …") says nothing of where it
// happened; a StepError says "index: golden record: Binder Error: …".

// Step is one named piece of a stage's work: SQL to execute, or Go.
type Step struct {
	Name string
	SQL  string
	Args []any
	// Go runs instead of SQL when set.
	Go func(ctx context.Context) error
}

// StepError is a failure of one named step of a stage.
type StepError struct {
	Stage, Step string
	Err         error
}

// Error names the stage and the step, and says what went wrong without a
// record's value (LeaveOutValues), wherever the message is printed.
func (e *StepError) Error() string {
	return e.Stage + ": " + e.Step + ": " + LeaveOutValues(e.Err.Error())
}
func (e *StepError) Unwrap() error { return e.Err }

// InStep names the stage and step of err, unless it names them already (or
// is nil).
func InStep(stage, step string, err error) error {
	var se *StepError
	if err == nil || errors.As(err, &se) {
		return err
	}
	return &StepError{Stage: stage, Step: step, Err: OutOfMemory(err)}
}

// RunSteps runs steps in order and stops at the first failure, which names
// the stage and the step.
func (db *DB) RunSteps(ctx context.Context, stage string, steps ...Step) error {
	for _, s := range steps {
		start := time.Now()
		var err error
		switch {
		case s.Go != nil:
			err = s.Go(ctx)
		case s.SQL != "":
			_, err = db.ExecContext(ctx, s.SQL, s.Args...)
		default:
			err = fmt.Errorf("step has neither SQL nor Go")
		}
		if err != nil {
			return InStep(stage, s.Name, err)
		}
		if db.StepDone != nil {
			db.StepDone(stage, s.Name, time.Since(start))
		}
	}
	return nil
}
