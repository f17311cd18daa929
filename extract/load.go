package extract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/store"
)

// DefaultParallel is how many sources load at once by default: two keep
// both cores busy (each source is read by one goroutine).
const DefaultParallel = 2

// Options tune a load.
type Options struct {
	// Today is the run date: dates after it are in the future. Required.
	Today time.Time
	// Parallel is how many sources load at once; default DefaultParallel.
	Parallel int
	// Progress, if set, is called now and then with a source's rows so far.
	Progress func(source string, rows int64)
	// FirstRows, when above 0, reads only each file's first rows (carematch
	// check: the header and a sample, not the night).
	FirstRows int64
}

// FileResult is what was read from one file.
type FileResult struct {
	Path     string `json:"path"`
	Bytes    int64  `json:"bytes"`
	SHA256   string `json:"sha256"`
	Read     int64  `json:"rows_read"`
	Loaded   int64  `json:"rows_loaded"`
	Rejected int64  `json:"rows_rejected"`
}

// SourceResult is what was read from one source.
type SourceResult struct {
	ID       string        `json:"id"`
	Kind     string        `json:"kind"`
	Missing  bool          `json:"missing,omitempty"` // an optional source with no file
	Files    []FileResult  `json:"files"`
	Read     int64         `json:"rows_read"`
	Loaded   int64         `json:"rows_loaded"`
	Rejected int64         `json:"rows_rejected"`
	Elapsed  time.Duration `json:"-"`
}

// LoadAll loads every configured source into db, whose schema must exist.
// It stops at the first fatal error (missing required source, missing column,
// empty or unreadable file). Sources are read biggest first, so that the
// last to finish is a small one rather than a big one started late; the
// results are in the configuration's order.
func LoadAll(ctx context.Context, db *store.DB, cfg *config.Config, opt Options) ([]SourceResult, error) {
	if opt.Parallel <= 0 {
		opt.Parallel = DefaultParallel
	}
	extras := cfg.ExtraFields()
	recs, err := db.NewRecordLoad(ctx, extras)
	if err != nil {
		return nil, err
	}
	results := make([]SourceResult, len(cfg.Sources))
	err = db.WithThreads(ctx, loadThreads, func() error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(opt.Parallel)
		for _, i := range biggestFirst(cfg.Sources) {
			g.Go(func() error {
				r, err := loadSource(gctx, db, recs, &cfg.Sources[i], extras, opt)
				results[i] = r
				return err
			})
		}
		return g.Wait()
	})
	// After the threads are back: Close inserts at most one row group, the
	// sources' short last batches, where nothing else is left to wait.
	if cerr := recs.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// loadThreads is how many threads DuckDB works on while the sources load.
// The rows are read and checked in Go, a goroutine a source, and inserted
// a whole row group at a time, one insert at a time (store.RecordLoad): the
// Go side is most of the load's work. On more threads than one, the
// goroutine that calls an insert waits for DuckDB's own thread to finish it
// by polling, a core spinning (at ten million records, where each insert
// also compresses its row group into the staging file, a seventh of the
// load's CPU was that polling's mutex and task queue) while the other
// sources' goroutines wait for a core. On one thread the caller does the
// insert itself: at ten million records loading took 54.5 and 56.3 s
// against 65.5 and 63.0 (100–102 CPU-s against 117–122), and in whole
// nights 59.0 and 63.1 s against 64.1 and 70.0; at two million it is the
// same within the host's noise (docs/BENCHMARKS.md, the thirty-fourth
// session).
const loadThreads = 1

// biggestFirst is the sources' indexes, the biggest files first (ties and
// missing files in the configuration's order).
func biggestFirst(sources []config.Source) []int {
	size := make([]int64, len(sources))
	order := make([]int, len(sources))
	for i := range sources {
		order[i] = i
		size[i] = SourceBytes(&sources[i])
	}
	sort.SliceStable(order, func(a, b int) bool { return size[order[a]] > size[order[b]] })
	return order
}

// SourceBytes is the size of a source's extract: every file its path names
// (a glob may name several). A bad pattern or a file that cannot be read
// counts nothing here; loadSource reports it.
func SourceBytes(src *config.Source) int64 {
	var n int64
	files, _ := filepath.Glob(src.Path)
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// loadSource loads one source, its records through recs. extras are the
// extra fields of the whole configuration, in the records table's order.
func loadSource(ctx context.Context, db *store.DB, recs *store.RecordLoad, src *config.Source, extras []string, opt Options) (SourceResult, error) {
	start := time.Now()
	res := SourceResult{ID: src.ID, Kind: src.Kind}
	files, err := filepath.Glob(src.Path)
	if err != nil {
		return res, &SourceError{Source: src.ID, File: src.Path, Err: ErrUnreadable, Detail: err.Error()}
	}
	sort.Strings(files)
	if len(files) == 0 {
		if src.IsRequired() {
			return res, &SourceError{Source: src.ID, File: src.Path, Err: ErrMissingSource}
		}
		res.Missing = true
		return res, nil
	}
	l := &loader{src: src, extras: extras, opt: opt, seen: newLocalIDs()}
	l.recs = recs.NewWriter()
	if l.excs, err = db.NewAppender(ctx, "exceptions"); err != nil {
		l.recs.Close()
		return res, err
	}
	for _, f := range files {
		fr, err := l.loadFile(ctx, db, f)
		if err != nil {
			l.recs.Close()
			l.excs.Close()
			return res, err
		}
		res.Files = append(res.Files, fr)
		res.Read += fr.Read
		res.Loaded += fr.Loaded
		res.Rejected += fr.Rejected
	}
	if err := l.recs.Close(); err != nil {
		l.excs.Close()
		return res, fmt.Errorf("load %s: %w", src.ID, err)
	}
	if res.Loaded == 0 && src.IsRequired() {
		// Publishing would retire every person the source holds.
		l.excs.Close()
		return res, &SourceError{Source: src.ID, File: src.Path, Err: ErrNoRowLoaded,
			Detail: fmt.Sprintf("all %d rows were rejected, the first at %s line %d: %s", res.Read, l.firstReject.file, l.firstReject.line, l.firstReject.reason)}
	}
	if err := l.excs.Close(); err != nil {
		return res, fmt.Errorf("load %s: %w", src.ID, err)
	}
	files2, err := db.NewAppender(ctx, "source_files")
	if err != nil {
		return res, err
	}
	for _, f := range res.Files {
		if err := files2.Append(src.ID, f.Path, f.Bytes, f.SHA256, f.Read, f.Loaded, f.Rejected); err != nil {
			files2.Close()
			return res, err
		}
	}
	if err := files2.Close(); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

type loader struct {
	src    *config.Source
	extras []string
	opt    Options
	recs   *store.RecordWriter
	excs   *store.Appender
	seen   *localIDs // the local IDs loaded, across the source's files
	file   string    // base name of the current file
	m      mapping
	work   rowWork // the row being standardised, reused
	done   int64   // rows read so far, for progress
	// forms is set for the opt-out forms: they have no local_id (a form is
	// named by its line), may be none, and their columns may come from
	// the header (config.Optouts.FromHeader).
	forms, formsFromHeader bool
	// firstReject is the source's first rejected row, for the error when
	// none loads.
	firstReject struct {
		file, reason string
		line         int64
	}
}

// rowSource yields a file's rows as strings aligned with its header.
type rowSource interface {
	header() []string
	// next returns a row and its line; a *RowError for a row that cannot be
	// read (the source has moved past it); io.EOF at the end.
	next() (vals [][]byte, line int, err error)
}

// loadFile loads one file of the source: every row is loaded or rejected.
func (l *loader) loadFile(ctx context.Context, db *store.DB, path string) (FileResult, error) {
	fr := FileResult{Path: path}
	l.file = filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fr, l.inFile(path, &SourceError{Err: ErrUnreadable, Detail: errDetail(err)})
	}
	defer f.Close()
	h := sha256.New()
	rs, err := l.open(ctx, db, f, h, &fr)
	if err != nil {
		return fr, l.inFile(path, err)
	}
	if err := l.rows(ctx, rs, &fr); err != nil {
		return fr, l.inFile(path, err)
	}
	if js, ok := rs.(*jsonlSource); ok {
		if err := js.checkColumns(l.src); err != nil {
			return fr, l.inFile(path, err)
		}
	}
	if fr.Read == 0 && !l.forms {
		return fr, l.inFile(path, &SourceError{Err: ErrEmptyFile, Detail: "a header and no rows"})
	}
	fr.SHA256 = hexSum(h)
	return fr, nil
}

// inFile names the source and file of an error: in a *SourceError (a
// problem with the file), or as the load stage's step (the database's).
func (l *loader) inFile(path string, err error) error {
	var se *SourceError
	if errors.As(err, &se) {
		se.Source, se.File = l.src.ID, path
		return se
	}
	return &store.StepError{Stage: "load", Step: l.src.ID + ": " + path, Err: err}
}

// open checks the file, starts reading its rows in the source's format
// (hashing its bytes into h) and binds the configured columns to its header.
func (l *loader) open(ctx context.Context, db *store.DB, f *os.File, h hash.Hash, fr *FileResult) (rowSource, error) {
	unreadable := func(err error) error { return &SourceError{Err: ErrUnreadable, Detail: errDetail(err)} }
	st, err := f.Stat()
	if err != nil {
		return nil, unreadable(err)
	}
	if st.IsDir() {
		return nil, &SourceError{Err: ErrUnreadable, Detail: "it is a directory"}
	}
	if fr.Bytes = st.Size(); fr.Bytes == 0 {
		return nil, &SourceError{Err: ErrEmptyFile, Detail: "0 bytes"}
	}
	var rs rowSource
	switch l.src.Format {
	case "csv":
		rs, err = newCSVSource(io.TeeReader(f, h), l.src)
	case "jsonl":
		rs = newJSONLSource(io.TeeReader(f, h), l.src)
	case "parquet":
		if _, err := io.Copy(h, f); err != nil {
			return nil, unreadable(err)
		}
		rs, err = newParquetSource(ctx, db, f.Name(), l.src)
	}
	var se *SourceError
	if err != nil && !errors.As(err, &se) {
		return nil, unreadable(err)
	}
	if err != nil {
		return nil, err
	}
	if l.formsFromHeader {
		cols, ok := config.ColumnsFromHeader(rs.header())
		if !ok {
			return nil, &SourceError{Line: 1, Field: "nhs_number", Column: "nhs_number", Err: ErrMissingColumn,
				Detail: fmt.Sprintf("the forms' header names none of %v", config.OptoutFields)}
		}
		l.src.Columns = cols
	}
	if err := l.m.bind(l.src, rs.header()); err != nil {
		return nil, err
	}
	if err := l.m.bindExtras(l.src, rs.header(), l.extras); err != nil {
		return nil, err
	}
	return rs, nil
}

// rows reads every row of rs: each is loaded or rejected, and counted.
func (l *loader) rows(ctx context.Context, rs rowSource, fr *FileResult) error {
	for {
		if l.opt.FirstRows > 0 && fr.Read >= l.opt.FirstRows {
			return nil
		}
		vals, line, err := rs.next()
		if err == io.EOF {
			return nil
		}
		fr.Read++
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				return &SourceError{Line: line, Err: ErrUnreadable, Detail: errDetail(err)}
			}
			fr.Rejected++
			if err := l.exception(store.ExcRejectedRow, "", int64(re.Line), "", re.Reason, truncate(re.Raw, 500)); err != nil {
				return err
			}
			continue
		}
		if i := nulColumn(vals); i >= 0 {
			fr.Rejected++
			if err := l.exception(store.ExcRejectedRow, "", int64(line), "", fmt.Sprintf("a NUL byte in column %q: the file is damaged here", rs.header()[i]), ""); err != nil {
				return err
			}
			continue
		}
		loaded, err := l.record(vals, int64(line))
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if loaded {
			fr.Loaded++
		} else {
			fr.Rejected++
		}
		if l.done++; l.opt.Progress != nil && l.done%200_000 == 0 {
			l.opt.Progress(l.src.ID, l.done)
		}
		if l.done%65_536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// nulColumn is the first column holding a NUL byte, or -1: no field of a
// patient record holds one, and it must not reach the CSVs the portal reads.
func nulColumn(vals [][]byte) int {
	for i, v := range vals {
		if bytes.IndexByte(v, 0) >= 0 {
			return i
		}
	}
	return -1
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// errDetail describes an I/O error without the path, which SourceError
// already names.
func errDetail(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (l *loader) exception(kind store.ExceptionKind, localID string, line int64, field, reason, value string) error {
	var lid, val driver.Value
	if localID != "" {
		lid = localID
	}
	if value != "" {
		val = value
	}
	if kind == store.ExcRejectedRow && l.firstReject.line == 0 {
		l.firstReject.file, l.firstReject.line, l.firstReject.reason = l.file, line, reason
	}
	return l.excs.Append(string(kind), l.src.ID, lid, line, nullable(field), reason, val, l.file)
}

func nullable(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

var _ rowSource = (*csvSource)(nil)

var _ rowSource = (*parquetSource)(nil)

var _ rowSource = (*jsonlSource)(nil)
