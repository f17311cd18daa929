package extract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/selondon/carematch/config"
)

// jsonlSource reads JSON lines: one object per line, its top-level keys the
// columns. Numbers keep their digits exactly as written (an NHS number in a
// JSON number must not pass through a float).
type jsonlSource struct {
	sc   *bufio.Reader
	hdr  []string
	pos  map[string]int
	seen []bool
	buf  [][]byte
	line int
}

func newJSONLSource(r io.Reader, src *config.Source) *jsonlSource {
	j := &jsonlSource{sc: bufio.NewReaderSize(r, 1<<20), pos: map[string]int{}}
	for _, f := range src.Columns.Fields() {
		j.add(f.Column)
	}
	for _, col := range src.Columns.Extra {
		j.add(col)
	}
	j.seen = make([]bool, len(j.hdr))
	j.buf = make([][]byte, len(j.hdr))
	return j
}

func (j *jsonlSource) add(col string) {
	if _, ok := j.pos[col]; !ok {
		j.pos[col] = len(j.hdr)
		j.hdr = append(j.hdr, col)
	}
}

// header is the configured columns: a JSON line names its own.
func (j *jsonlSource) header() []string { return j.hdr }

func (j *jsonlSource) next() ([][]byte, int, error) {
	for {
		l, err := j.sc.ReadBytes('\n')
		if len(l) == 0 && err != nil {
			return nil, j.line + 1, err
		}
		j.line++
		l = bytes.TrimSpace(bytes.TrimPrefix(l, utf8BOM))
		if len(l) == 0 {
			continue
		}
		// encoding/json would read invalid UTF-8 as U+FFFD: a changed value.
		if !utf8.Valid(l) {
			return nil, j.line, &RowError{Line: j.line, Reason: "invalid UTF-8 on the line", Raw: strings.ToValidUTF8(string(l), "\uFFFD")}
		}
		dec := json.NewDecoder(bytes.NewReader(l))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || dec.More() {
			return nil, j.line, &RowError{Line: j.line, Reason: "not one JSON object on the line", Raw: string(l)}
		}
		for i := range j.buf {
			j.buf[i] = nil
		}
		for k, v := range obj {
			i, ok := j.pos[k]
			if !ok {
				continue
			}
			j.seen[i] = true
			switch v := v.(type) {
			case nil:
			case string:
				j.buf[i] = []byte(v)
			case json.Number:
				j.buf[i] = []byte(v.String())
			case bool:
				j.buf[i] = []byte(strconv.FormatBool(v))
			default:
				return nil, j.line, &RowError{Line: j.line, Reason: "key " + strconv.Quote(k) + " holds an object or array, not a value", Raw: string(l)}
			}
		}
		return j.buf, j.line, nil
	}
}

// checkColumns fails for a configured column that no line had.
func (j *jsonlSource) checkColumns(src *config.Source) *SourceError {
	for _, f := range src.Columns.Fields() {
		if !j.seen[j.pos[f.Column]] {
			return &SourceError{Field: f.Name, Column: f.Column, Err: ErrMissingColumn, Detail: "no line has this key"}
		}
	}
	return nil
}
