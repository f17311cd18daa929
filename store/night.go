package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// NightInfo is what a night records of itself in its state database
// (table night_info), for the next night to decide whether it may build on
// that state.
type NightInfo struct {
	RunID        string
	ToolVersion  string
	ConfigSHA256 string
}

// NightInfoColumns is the `night_info` table: one row.
var NightInfoColumns = []Column{
	{"run_id", "VARCHAR NOT NULL"},
	{"tool_version", "VARCHAR NOT NULL"},
	{"config_sha256", "VARCHAR NOT NULL"},
}

// WriteNightInfo records this night in its state database.
func (db *DB) WriteNightInfo(ctx context.Context, n NightInfo) error {
	_, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS night_info; "+createTable("night_info", NightInfoColumns)+"; INSERT INTO night_info VALUES (?, ?, ?)",
		n.RunID, n.ToolVersion, n.ConfigSHA256)
	return err
}

// ReadNightInfo reads what the night whose state database is at path
// recorded of itself; nil if it recorded nothing (a state written before
// night_info was kept).
func (db *DB) ReadNightInfo(ctx context.Context, path string) (*NightInfo, error) {
	detach, err := db.AttachReadOnly(ctx, path, "prevnight")
	if err != nil {
		return nil, fmt.Errorf("the previous night's state: %w", err)
	}
	defer detach()
	if ok, err := db.HasTables(ctx, "prevnight", "night_info"); err != nil || !ok {
		return nil, err
	}
	var info NightInfo
	err = db.QueryRowContext(ctx, "SELECT run_id, tool_version, config_sha256 FROM prevnight.night_info").Scan(&info.RunID, &info.ToolVersion, &info.ConfigSHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &info, err
}
