package extract

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// RowError is a row that cannot be read; the reader has already moved on
// past it, so reading continues. Line is the physical line the row starts on.
type RowError struct {
	Line   int
	Reason string
	Raw    string // the row's text, for the analyst's exception file
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// csvReader reads delimited text one record at a time, RFC 4180 style:
// fields may be quoted with ", a quote inside a quoted field is doubled, and a
// quoted field may span lines. It differs from encoding/csv in what it does
// with a bad row: it reports it as a *RowError and goes on with the next
// physical line, so one stray quote cannot swallow the rest of the file.
//
// Lines end in LF or CRLF. Blank lines are skipped. Fields are returned as
// slices into a buffer that the next call reuses.
type csvReader struct {
	r      *bufio.Reader
	delim  byte
	decode func([]byte) []byte // encoding conversion of each physical line; nil for none
	line   int                 // physical lines consumed
	want   int                 // field count every record must have; 0 until the header sets it

	pending [][]byte // physical lines pushed back after a failed multi-line record
	lines   [][]byte // physical lines of the current record
	field   []byte
	fields  [][]byte
	ends    []int
}

var utf8BOM = []byte("\xef\xbb\xbf")

// maxRecordLines bounds how far a quoted field may run on before the record
// is judged to be a stray quote.
const maxRecordLines = 50

func newCSVReader(r io.Reader, delim byte, decode func([]byte) []byte) *csvReader {
	return &csvReader{r: bufio.NewReaderSize(r, 1<<20), delim: delim, decode: decode}
}

// readLine returns the next physical line without its line ending, from the
// push-back list first.
func (c *csvReader) readLine() ([]byte, error) {
	if n := len(c.pending); n > 0 {
		l := c.pending[0]
		c.pending = c.pending[1:]
		c.line++
		return l, nil
	}
	l, err := c.r.ReadBytes('\n')
	if len(l) == 0 && err != nil {
		return nil, err
	}
	c.line++
	l = bytes.TrimSuffix(l, []byte{'\n'})
	l = bytes.TrimSuffix(l, []byte{'\r'})
	// A byte-order mark starts the file, or a line where two extracts were
	// concatenated; left in place it would become part of a local_id.
	l = bytes.TrimPrefix(l, utf8BOM)
	if c.decode != nil {
		l = c.decode(l)
	}
	return l, nil
}

// Read returns the next record and the physical line it starts on. At the
// end it returns io.EOF. A bad row gives a *RowError and the reader is ready
// for the next one.
func (c *csvReader) Read() (fields [][]byte, line int, err error) {
	var first []byte
	for {
		first, err = c.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, c.line + 1, io.EOF
			}
			return nil, c.line + 1, err
		}
		if len(bytes.TrimSpace(first)) > 0 {
			break
		}
	}
	start := c.line
	c.lines = append(c.lines[:0], first)
	for {
		reason, more := c.parse()
		if !more {
			if reason == "" && c.want > 0 && len(c.fields) != c.want {
				reason = fmt.Sprintf("wrong field count: %d fields, the header has %d", len(c.fields), c.want)
			}
			if reason == "" {
				return c.fields, start, nil
			}
			return nil, start, c.reject(start, reason)
		}
		// A quoted field runs on into the next line.
		if len(c.lines) >= maxRecordLines {
			return nil, start, c.reject(start, "bad quoting: a quoted field is not closed")
		}
		next, err := c.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, start, err
			}
			return nil, start, c.reject(start, "bad quoting: a quoted field is not closed before the end of the file")
		}
		c.lines = append(c.lines, next)
	}
}

// reject turns the current record into a RowError. If it spanned several
// lines, only its first line is rejected and the rest are read again as
// records of their own: a stray quote costs one row, not many.
func (c *csvReader) reject(start int, reason string) error {
	raw := string(c.lines[0])
	if len(c.lines) > 1 {
		rest := make([][]byte, 0, len(c.lines)-1+len(c.pending))
		for _, l := range c.lines[1:] {
			rest = append(rest, append([]byte(nil), l...))
		}
		c.pending = append(rest, c.pending...)
		c.line -= len(c.lines) - 1
	}
	return &RowError{Line: start, Reason: reason, Raw: raw}
}

// parse splits the current record's lines into fields. more is true when the
// lines end inside a quoted field.
func (c *csvReader) parse() (reason string, more bool) {
	c.field = c.field[:0]
	c.ends = c.ends[:0]
	d := c.delim
	// Join the record's lines with LF: the record's text.
	var rec []byte
	if len(c.lines) == 1 {
		rec = c.lines[0]
	} else {
		rec = bytes.Join(c.lines, []byte{'\n'})
	}
	i := 0
	for {
		if i < len(rec) && rec[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(rec[i:], '"')
				if j < 0 {
					return "", true
				}
				c.field = append(c.field, rec[i:i+j]...)
				i += j + 1
				if i < len(rec) && rec[i] == '"' {
					c.field = append(c.field, '"')
					i++
					continue
				}
				break
			}
			c.ends = append(c.ends, len(c.field))
			if i == len(rec) {
				break
			}
			if rec[i] != d {
				return "bad quoting: text after a closing quote", false
			}
			i++
			continue
		}
		j := bytes.IndexByte(rec[i:], d)
		end := len(rec)
		if j >= 0 {
			end = i + j
		}
		if bytes.IndexByte(rec[i:end], '"') >= 0 {
			return "bad quoting: a quote inside an unquoted field", false
		}
		c.field = append(c.field, rec[i:end]...)
		c.ends = append(c.ends, len(c.field))
		if j < 0 {
			break
		}
		i = end + 1
	}
	c.fields = c.fields[:0]
	prev := 0
	for _, e := range c.ends {
		c.fields = append(c.fields, c.field[prev:e:e])
		prev = e
	}
	return "", false
}
