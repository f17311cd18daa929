package extract

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/store"
)

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
