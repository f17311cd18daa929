package linkage

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/selondon/carematch/store"
)

// A night's model — m, u, lambda, guards — and the term-frequency tables it
// scored with are kept in its state database (table model, one row of
// JSON, and tf_<column>), and held by the nights after it: a night that
// holds them scores every pair as the night that fitted them would, which
// is what lets a night link only what changed and still give the index a
// full rebuild gives. A new model is fitted on the first night, when the
// configuration's comparisons change, or when asked (run --retrain).

// modelTable holds a night's model as JSON.
const modelTable = "model"

// saveModel writes m into this night's state database.
func saveModel(ctx context.Context, db *store.DB, m *Model) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE OR REPLACE TABLE "+modelTable+" AS SELECT ?::VARCHAR AS json", string(b))
	return err
}

// ErrNoHeldModel says a previous night's state database has no model (or
// no term frequencies) to hold.
var ErrNoHeldModel = fmt.Errorf("the previous night kept no model")

// holdModel reads the model of the state database at path and copies its
// term-frequency tables for the columns tf into this night's.
func holdModel(ctx context.Context, db *store.DB, path string, tf []string) (*Model, error) {
	detach, err := db.AttachReadOnly(ctx, path, "heldstate")
	if err != nil {
		return nil, fmt.Errorf("the held model's night: %w", err)
	}
	defer detach()
	want := []string{modelTable}
	for _, c := range tf {
		want = append(want, tfTable(c))
	}
	if ok, err := db.HasTables(ctx, "heldstate", want...); err != nil || !ok {
		if err == nil {
			err = ErrNoHeldModel
		}
		return nil, err
	}
	var js string
	if err := db.QueryRowContext(ctx, "SELECT json FROM heldstate."+modelTable).Scan(&js); err != nil {
		return nil, err
	}
	m, err := parseModel([]byte(js), filepath.Base(path))
	if err != nil {
		return nil, err
	}
	for _, c := range tf {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE %[1]s AS SELECT * FROM heldstate.%[1]s", tfTable(c))); err != nil {
			return nil, err
		}
	}
	return m, nil
}
