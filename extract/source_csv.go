package extract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/internal/cp1252"
)

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
