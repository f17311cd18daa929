// Package store is the one place that imports the DuckDB driver (and, through
// it, Arrow): it opens the embedded database file, owns the schema of the
// tables the stages share, and does bulk work in and out — appending rows,
// reading a file through DuckDB, and copying a query to CSV or Parquet.
//
// Stages above it talk SQL over *sql.DB, write records through RecordWriter
// (Arrow batches), append smaller tables through Appender, and read or write
// millions of rows as typed columns (QueryBatches, CreateTableFrom); none of
// them needs to know which driver is underneath.
//
// The contracts it declares for every stage: the records table and its row
// (Record), the exceptions table and its kinds (ExceptionKind), source_files,
// the one record key (RecordKey), and the step runner (RunSteps, StepError)
// through which a failing step names its stage and itself.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/sync/errgroup"
)

// DB is an open DuckDB database.
type DB struct {
	*sql.DB
	connector *duckdb.Connector
	// StepDone, when set, hears of every step RunSteps finishes and how
	// long it took: the run's progress lines.
	StepDone func(stage, step string, took time.Duration)
	// FileMetadata is written into every Parquet file's key–value metadata
	// (the schema version and the run, so a reader can tell what it holds).
	FileMetadata map[string]string
	// side marks a handle made by Side: closing it leaves the database open.
	side bool
	// recordsFile is the file the loaded records are staged in
	// (StageRecordsIn); "" while they are staged in memory.
	recordsFile string
}

// Open opens (creating if needed) the DuckDB file at path; "" is an in-memory
// database. threads ≤ 0 leaves DuckDB's default (one per core).
func Open(path string, threads int) (*DB, error) {
	return OpenWith(path, Limits{Threads: threads})
}

// Limits bound what DuckDB may use.
type Limits struct {
	Threads int // ≤ 0: one per core
	// MemoryLimit is DuckDB's memory_limit ("6GiB"); "" leaves DuckDB's
	// default, 80% of the machine's memory (a night passes
	// DefaultMemoryLimit instead). Work beyond it spills to TempDir, and
	// what cannot spill fails with ErrOutOfMemory.
	MemoryLimit string
	// TempDir is where work spills; "" leaves DuckDB's default (the
	// database file's name with .tmp).
	TempDir string
}

// ErrOutOfMemory wraps DuckDB's out-of-memory errors, so that the stage
// that met one can say so plainly.
var ErrOutOfMemory = errors.New("store: the database ran out of memory")

// OpenWith opens the DuckDB file at path within limits: the database's own
// settings, given when it opens (the spill folder cannot change once used).
// Threads too are the database's, every connection's: set on each new
// connection, they undid a SetThreads (WithThreads) whenever the pool
// opened one.
func OpenWith(path string, lim Limits) (*DB, error) {
	// The stage catalog is the database's, attached once; the search path is
	// each connection's.
	//
	// FSST, one of DuckDB's string compressions, is left out: training its
	// symbol tables was a fifth of writing a table to the file (prep at two
	// million records: 7.3 s with it, 5.8 s without), for a file 1.7 times
	// smaller. A night's state file is written once and kept a few nights.
	init := []string{"ATTACH IF NOT EXISTS ':memory:' AS " + StageCatalog, "SET search_path = 'main," + StageCatalog + ".main'",
		"SET disabled_compression_methods = 'fsst'"}
	dsn := path
	params := url.Values{}
	if lim.Threads > 0 {
		params.Set("threads", strconv.Itoa(lim.Threads))
	}
	if lim.MemoryLimit != "" {
		params.Set("memory_limit", lim.MemoryLimit)
	}
	if lim.TempDir != "" {
		// DuckDB makes the last folder of the path only.
		if err := os.MkdirAll(filepath.Dir(lim.TempDir), 0o750); err != nil {
			return nil, fmt.Errorf("spill folder %s: %w", lim.TempDir, err)
		}
		params.Set("temp_directory", lim.TempDir)
	}
	if len(params) > 0 {
		dsn += "?" + params.Encode()
	}
	db, err := open(dsn, init)
	if err != nil {
		return nil, err
	}
	// Try a connection now, so a bad limit fails here and not in the middle
	// of the night.
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// OutOfMemory marks err with ErrOutOfMemory when DuckDB ran out of memory.
func OutOfMemory(err error) error {
	if err == nil || errors.Is(err, ErrOutOfMemory) {
		return err
	}
	msg := err.Error()
	for _, sign := range outOfMemorySigns {
		if strings.Contains(msg, sign) {
			return fmt.Errorf("%w: %w", ErrOutOfMemory, err)
		}
	}
	return err
}

// outOfMemorySigns are the ways DuckDB says it ran out of memory: its own
// error type, or a buffer it could not allocate or pin (seen under an
// appender), each with its advice to raise memory_limit.
var outOfMemorySigns = []string{"Out of Memory Error", "could not allocate block", "failed to pin block", "Increasing the memory limit"}

func open(path string, init []string) (*DB, error) {
	configureAllocator()
	c, err := duckdb.NewConnector(path, func(execer driver.ExecerContext) error {
		for _, s := range init {
			if _, err := execer.ExecContext(context.Background(), s, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := sql.OpenDB(c)
	return &DB{DB: db, connector: c}, nil
}

// OpenReadOnly opens an existing database file for reading only, so a
// command that inspects a run (evaluate, explain) can never change it. The
// file is attached read-only to an in-memory database and made the default,
// so its tables are read by their plain names, while scratch tables go to
// the in-memory catalog "memory" (see NewAppenderIn).
func OpenReadOnly(path string) (*DB, error) {
	return open("", []string{
		fmt.Sprintf("ATTACH IF NOT EXISTS %s AS run (READ_ONLY)", QuoteString(path)),
		"USE run",
	})
}

// Close closes the database, checkpointing it to disk; a Side handle
// closes only its own connection.
func (db *DB) Close() error {
	err := db.DB.Close()
	if db.side {
		return err
	}
	if cerr := db.connector.Close(); err == nil {
		err = cerr
	}
	return err
}

// Side is a second handle on the same database with a connection of its
// own, for work that runs beside the main handle's: its statements run on
// the goroutine that calls them while the main handle's run on theirs, and
// its temporary tables are its own (DuckDB's are a connection's, and the
// main handle's pool keeps them on the one connection a night's steps
// reuse; a step that took that connection from beside them would lose
// them). Both see the database's tables as each transaction commits.
// Close it when its work is done; the database stays open. It does not
// report steps (StepDone): the night's progress hears from its own
// goroutine only.
func (db *DB) Side() *DB {
	s := sql.OpenDB(sharedConnector{db.connector})
	s.SetMaxOpenConns(1)
	return &DB{DB: s, connector: db.connector, side: true, FileMetadata: db.FileMetadata, recordsFile: db.recordsFile}
}

// sharedConnector is the database's connector lent to a Side handle
// without its Close: sql.DB.Close closes a connector that has one, and the
// DuckDB connector's closes the database to every new connection.
type sharedConnector struct{ c *duckdb.Connector }

func (s sharedConnector) Connect(ctx context.Context) (driver.Conn, error) { return s.c.Connect(ctx) }
func (s sharedConnector) Driver() driver.Driver                            { return s.c.Driver() }

// Appender appends rows to one table over its own connection. It is not safe
// for concurrent use; open one per goroutine.
type Appender struct {
	conn *sql.Conn
	app  *duckdb.Appender
}

// NewAppender starts appending to table.
func (db *DB) NewAppender(ctx context.Context, table string) (*Appender, error) {
	return db.NewAppenderIn(ctx, "", table)
}

// NewAppenderIn appends to a table of a given catalog ("" for the default).
func (db *DB) NewAppenderIn(ctx context.Context, catalog, table string) (*Appender, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var app *duckdb.Appender
	err = conn.Raw(func(dc any) error {
		var err error
		app, err = duckdb.NewAppender(dc.(driver.Conn), catalog, "", table)
		return err
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("append to %s: %w", table, err)
	}
	return &Appender{conn: conn, app: app}, nil
}

// Append adds one row; values are nil (NULL), string, int64, float64, bool or
// time.Time, in the table's column order.
func (a *Appender) Append(values ...driver.Value) error {
	return a.app.AppendRow(values...)
}

// Close flushes the remaining rows and releases the connection.
func (a *Appender) Close() error {
	err := a.app.Close()
	if cerr := a.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// AppendEach appends n rows to table, row(i) giving the i-th row's values,
// and closes the appender; on an error nothing more is appended.
func (db *DB) AppendEach(ctx context.Context, table string, n int, row func(i int) []driver.Value) error {
	app, err := db.NewAppender(ctx, table)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := app.Append(row(i)...); err != nil {
			app.Close()
			return fmt.Errorf("append to %s: %w", table, err)
		}
	}
	return app.Close()
}

// QuoteIdent quotes an SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteString quotes an SQL string literal.
func QuoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// FilesSchemaVersion is the version of the published files' layout (their
// columns and what they mean), written into every Parquet file's metadata
// and the portal's manifest; raised when a column changes.
const FilesSchemaVersion = "1"

// CopyCSV writes the result of query to a CSV file with a header. A column
// holding NHS numbers (named nhs_number, or ending _nhs_number) is always
// quoted, so that a spreadsheet or a CSV reader keeps it as text: read as a
// number, 0123456789 loses its zero and 9434765919 becomes 9.43477E+09.
func (db *DB) CopyCSV(ctx context.Context, query, path string) error {
	var quote []string
	rows, err := db.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE "+query+")")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if c == "nhs_number" || strings.HasSuffix(c, "_nhs_number") {
			quote = append(quote, QuoteIdent(c))
		}
	}
	rows.Close()
	opts := "FORMAT csv, HEADER true"
	if len(quote) > 0 {
		opts += ", FORCE_QUOTE (" + strings.Join(quote, ", ") + ")"
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (%s)", query, QuoteString(path), opts)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// CopyParquet writes the result of query to a Parquet file (zstd), with
// FileMetadata in its key–value metadata.
func (db *DB) CopyParquet(ctx context.Context, query, path string) error {
	opts := "FORMAT parquet, COMPRESSION zstd"
	if len(db.FileMetadata) > 0 {
		keys := make([]string, 0, len(db.FileMetadata))
		for k := range db.FileMetadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		kv := make([]string, len(keys))
		for i, k := range keys {
			kv[i] = QuoteIdent(k) + ": " + QuoteString(db.FileMetadata[k])
		}
		opts += ", KV_METADATA {" + strings.Join(kv, ", ") + "}"
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (%s)", query, QuoteString(path), opts)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// CopyParquetAndCSV writes the result of query to a Parquet file and a CSV
// file of the same rows in the same order, running the query (and its sort)
// once: at two million rows a second sort cost a second or two per file.
func (db *DB) CopyParquetAndCSV(ctx context.Context, query, parquetPath, csvPath string) error {
	// In the stage catalog, not TEMP: a temporary table is its connection's
	// alone, and each file is written on a connection of its own.
	if _, err := db.ExecContext(ctx, "CREATE OR REPLACE TABLE "+Staged("copy_out")+" AS "+query); err != nil {
		return fmt.Errorf("write %s: %w", parquetPath, err)
	}
	if err := db.CopyScanParquetAndCSV(ctx, "SELECT * FROM copy_out", parquetPath, csvPath); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, "DROP TABLE copy_out")
	return err
}

// CopyScanParquetAndCSV writes scan, a query that reads one table in the
// order it was written (columns and a filter, no ORDER BY, no join: with
// preserve_insertion_order DuckDB keeps a plain scan's order), to a Parquet
// file and a CSV file. A table made in the order its files need is written
// without a second sort or a copy. The two files are written at once, on two
// connections: DuckDB writes a CSV file on one thread (0.5 s for two million
// rows of xref, the same on one thread or two) and Parquet on all of them.
func (db *DB) CopyScanParquetAndCSV(ctx context.Context, scan, parquetPath, csvPath string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return db.CopyParquet(gctx, scan, parquetPath) })
	g.Go(func() error { return db.CopyCSV(gctx, scan, csvPath) })
	return g.Wait()
}
