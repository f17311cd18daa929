package extract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/internal/cp1252"
	"github.com/selondon/carematch/store"
)

// Exception kinds written at load.
const (
	KindRejectedRow   = "rejected_rows"
	KindInvalidNHS    = "invalid_nhs_number"
	KindInvalidDOB    = "invalid_date_of_birth"
	KindInvalidPost   = "invalid_postcode"
	KindInvalidValue  = "invalid_value"
	KindMissingSource = "missing_source"
)

// Options tune a load.
type Options struct {
	// Today is the run date: dates after it are in the future. Required.
	Today time.Time
	// Parallel is how many sources load at once; default 2.
	Parallel int
	// Progress, if set, is called now and then with a source's rows so far.
	Progress func(source string, rows int64)
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
// empty or unreadable file).
func LoadAll(ctx context.Context, db *store.DB, cfg *config.Config, opt Options) ([]SourceResult, error) {
	if opt.Parallel <= 0 {
		opt.Parallel = 2
	}
	extras := cfg.ExtraFields()
	results := make([]SourceResult, len(cfg.Sources))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(opt.Parallel)
	for i := range cfg.Sources {
		g.Go(func() error {
			r, err := Load(ctx, db, &cfg.Sources[i], extras, opt)
			results[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return results, nil
}

// Load loads one source. extras are the extra fields of the whole
// configuration, in the records table's order.
func Load(ctx context.Context, db *store.DB, src *config.Source, extras []string, opt Options) (SourceResult, error) {
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
	l := &loader{src: src, extras: extras, opt: opt, seen: make(map[string]int64)}
	if l.recs, err = db.NewAppenderIn(ctx, store.StageCatalog, "records"); err != nil {
		return res, err
	}
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
	recs   *store.Appender
	excs   *store.Appender
	seen   map[string]int64 // local_id → line first seen, across the source's files
	file   string           // base name of the current file
	m      mapping
	row    []driver.Value
	rows   int64
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

func (l *loader) loadFile(ctx context.Context, db *store.DB, path string) (FileResult, error) {
	fr := FileResult{Path: path}
	l.file = filepath.Base(path)
	fail := func(line int, err error, detail string) error {
		return &SourceError{Source: l.src.ID, File: path, Line: line, Err: err, Detail: detail}
	}
	st, err := os.Stat(path)
	if err != nil {
		return fr, fail(0, ErrUnreadable, errDetail(err))
	}
	if st.IsDir() {
		return fr, fail(0, ErrUnreadable, "it is a directory")
	}
	fr.Bytes = st.Size()
	if st.Size() == 0 {
		return fr, fail(0, ErrEmptyFile, "0 bytes")
	}
	f, err := os.Open(path)
	if err != nil {
		return fr, fail(0, ErrUnreadable, errDetail(err))
	}
	defer f.Close()
	h := sha256.New()
	var rs rowSource
	switch l.src.Format {
	case "csv":
		rs, err = newCSVSource(io.TeeReader(f, h), l.src)
	case "jsonl":
		rs = newJSONLSource(io.TeeReader(f, h), l.src)
	case "parquet":
		if _, err := io.Copy(h, f); err != nil {
			return fr, fail(0, ErrUnreadable, errDetail(err))
		}
		rs, err = newParquetSource(ctx, db, path, l.src)
	}
	if err != nil {
		var se *SourceError
		if errors.As(err, &se) {
			se.Source, se.File = l.src.ID, path
			return fr, se
		}
		return fr, fail(0, ErrUnreadable, err.Error())
	}
	if err := l.m.bind(l.src, rs.header()); err != nil {
		err.Source, err.File = l.src.ID, path
		return fr, err
	}
	if err := l.m.bindExtras(l.src, rs.header(), l.extras); err != nil {
		err.Source, err.File = l.src.ID, path
		return fr, err
	}
	for {
		vals, line, err := rs.next()
		if err == io.EOF {
			break
		}
		fr.Read++
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				return fr, fail(line, ErrUnreadable, errDetail(err))
			}
			fr.Rejected++
			if err := l.exception(KindRejectedRow, "", int64(re.Line), "", re.Reason, truncate(re.Raw, 500)); err != nil {
				return fr, err
			}
			continue
		}
		if i := nulColumn(vals); i >= 0 {
			fr.Rejected++
			if err := l.exception(KindRejectedRow, "", int64(line), "", fmt.Sprintf("a NUL byte in column %q: the file is damaged here", rs.header()[i]), ""); err != nil {
				return fr, err
			}
			continue
		}
		loaded, err := l.record(vals, int64(line))
		if err != nil {
			return fr, fmt.Errorf("load %s: %s: line %d: %w", l.src.ID, path, line, err)
		}
		if loaded {
			fr.Loaded++
		} else {
			fr.Rejected++
		}
		if l.rows++; l.opt.Progress != nil && l.rows%200_000 == 0 {
			l.opt.Progress(l.src.ID, l.rows)
		}
		if l.rows%65_536 == 0 && ctx.Err() != nil {
			return fr, ctx.Err()
		}
	}
	if js, ok := rs.(*jsonlSource); ok {
		if err := js.checkColumns(l.src); err != nil {
			err.Source, err.File = l.src.ID, path
			return fr, err
		}
	}
	if fr.Read == 0 {
		return fr, fail(0, ErrEmptyFile, "a header and no rows")
	}
	fr.SHA256 = hexSum(h)
	return fr, nil
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

func (l *loader) exception(kind, localID string, line int64, field, reason, value string) error {
	var lid, val driver.Value
	if localID != "" {
		lid = localID
	}
	if value != "" {
		val = value
	}
	if kind == KindRejectedRow && l.firstReject.line == 0 {
		l.firstReject.file, l.firstReject.line, l.firstReject.reason = l.file, line, reason
	}
	return l.excs.Append(kind, l.src.ID, lid, line, nullable(field), reason, val, l.file)
}

func nullable(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// csvSource adapts csvReader.
type csvSource struct {
	r    *csvReader
	hdr  []string
	utf8 bool
}

func newCSVSource(r io.Reader, src *config.Source) (*csvSource, error) {
	var decode func([]byte) []byte
	if src.Encoding == "windows-1252" {
		decode = cp1252.Decode
	}
	cr := newCSVReader(r, src.Delim(), decode)
	fields, _, err := cr.Read()
	if err == io.EOF {
		return nil, &SourceError{Err: ErrEmptyFile, Detail: "no header line"}
	}
	if err != nil {
		var re *RowError
		if errors.As(err, &re) {
			return nil, &SourceError{Line: 1, Err: ErrUnreadable, Detail: "the header: " + re.Reason}
		}
		return nil, err
	}
	hdr := make([]string, len(fields))
	for i, f := range fields {
		hdr[i] = strings.TrimSpace(string(f))
	}
	cr.want = len(hdr)
	return &csvSource{r: cr, hdr: hdr, utf8: src.Encoding == "utf-8"}, nil
}

func (c *csvSource) header() []string { return c.hdr }

func (c *csvSource) next() ([][]byte, int, error) {
	f, line, err := c.r.Read()
	if err != nil {
		return nil, line, err
	}
	if c.repeatsHeader(f) {
		return nil, line, &RowError{Line: line, Reason: "the row repeats the header line (two extracts joined into one file?)", Raw: string(joinFields(f, c.r.delim))}
	}
	if c.utf8 {
		for i, v := range f {
			if !utf8.Valid(v) {
				return nil, line, &RowError{Line: line, Reason: fmt.Sprintf("invalid UTF-8 in column %q: is the file windows-1252?", c.hdr[i]), Raw: strings.ToValidUTF8(string(joinFields(f, c.r.delim)), "\uFFFD")}
			}
		}
	}
	return f, line, nil
}

func (c *csvSource) repeatsHeader(f [][]byte) bool {
	for i, v := range f {
		if string(bytes.TrimSpace(v)) != c.hdr[i] {
			return false
		}
	}
	return true
}

func joinFields(f [][]byte, d byte) []byte {
	var out []byte
	for i, v := range f {
		if i > 0 {
			out = append(out, d)
		}
		out = append(out, v...)
	}
	return out
}

// parquetSource reads a Parquet file through DuckDB, every column as the
// text a delimited extract would hold, read by its type: a DATE or TIMESTAMP
// is written in the source's date_format, a whole number held as DOUBLE or
// DECIMAL (an NHS number, say) keeps its digits without ".0" or an
// exponent. A column carematch cannot read as one value (a list, a struct,
// binary) is an error when it is configured.
type parquetSource struct {
	hdr  []string
	rows *sql.Rows
	vals []sql.NullString
	ptrs []any
	buf  [][]byte
	line int
}

func newParquetSource(ctx context.Context, db *store.DB, path string, src *config.Source) (*parquetSource, error) {
	from := fmt.Sprintf("read_parquet(%s)", store.QuoteString(path))
	desc, err := db.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+from+")")
	if err != nil {
		return nil, &SourceError{Err: ErrUnreadable, Detail: "not a Parquet file DuckDB can read"}
	}
	configured := map[string]string{}
	for _, f := range src.Columns.Fields() {
		configured[f.Column] = f.Name
	}
	for name, col := range src.Columns.Extra {
		configured[col] = "extra." + name
	}
	var exprs []string
	for desc.Next() {
		var name, typ string
		if err := desc.Scan(&name, &typ); err != nil {
			desc.Close()
			return nil, err
		}
		e, ok := parquetText(store.QuoteIdent(name), typ, src.DateFormat)
		if !ok {
			if field, used := configured[name]; used {
				desc.Close()
				return nil, &SourceError{Field: field, Column: name, Err: ErrUnreadable,
					Detail: "it is a " + typ + " column: carematch reads text, numbers, dates and yes/no values"}
			}
			e = "NULL::VARCHAR"
		}
		exprs = append(exprs, e+" AS "+store.QuoteIdent(name))
	}
	desc.Close()
	if err := desc.Err(); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+from)
	if err != nil {
		return nil, &SourceError{Err: ErrUnreadable, Detail: "not a Parquet file DuckDB can read"}
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	p := &parquetSource{hdr: cols, rows: rows, vals: make([]sql.NullString, len(cols)), ptrs: make([]any, len(cols)), buf: make([][]byte, len(cols))}
	for i := range p.vals {
		p.ptrs[i] = &p.vals[i]
	}
	return p, nil
}

// parquetText is the SQL that reads column col of DuckDB type typ as text;
// false for a type with no single text value.
func parquetText(col, typ, dateFormat string) (string, bool) {
	base, _, _ := strings.Cut(typ, "(")
	switch base {
	case "VARCHAR", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
		"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "UUID", "ENUM":
		return col + "::VARCHAR", true
	case "DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE":
		return fmt.Sprintf("strftime(%s, %s)", col, store.QuoteString(dateFormat)), true
	case "FLOAT", "DOUBLE", "DECIMAL":
		return fmt.Sprintf("CASE WHEN %[1]s = trunc(%[1]s) AND abs(%[1]s) < 1e18 THEN CAST(CAST(%[1]s AS HUGEINT) AS VARCHAR) ELSE CAST(%[1]s AS VARCHAR) END", col), true
	}
	if strings.HasPrefix(typ, "ENUM(") {
		return col + "::VARCHAR", true
	}
	return "", false
}

func (p *parquetSource) header() []string { return p.hdr }

// next numbers Parquet rows from 1: a Parquet file has no header line.
func (p *parquetSource) next() ([][]byte, int, error) {
	if !p.rows.Next() {
		err := p.rows.Err()
		p.rows.Close()
		if err != nil {
			return nil, p.line + 1, err
		}
		return nil, p.line + 1, io.EOF
	}
	p.line++
	if err := p.rows.Scan(p.ptrs...); err != nil {
		return nil, p.line, err
	}
	for i, v := range p.vals {
		p.buf[i] = []byte(v.String)
	}
	return p.buf, p.line, nil
}

var _ rowSource = (*csvSource)(nil)
var _ rowSource = (*parquetSource)(nil)
var _ rowSource = (*jsonlSource)(nil)
