package extract

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

type readResult struct {
	line   int
	fields string // fields joined with |
	reject string // reason, for a rejected row
}

func readAll(t *testing.T, text string, delim byte) []readResult {
	t.Helper()
	r := newCSVReader(strings.NewReader(text), delim, nil)
	var out []readResult
	first := true
	for {
		f, line, err := r.Read()
		if err == io.EOF {
			return out
		}
		var re *RowError
		switch {
		case errors.As(err, &re):
			out = append(out, readResult{line: re.Line, reject: re.Reason})
		case err != nil:
			t.Fatal(err)
		default:
			parts := make([]string, len(f))
			for i, v := range f {
				parts[i] = string(v)
			}
			out = append(out, readResult{line: line, fields: strings.Join(parts, "|")})
			if first {
				r.want = len(f)
			}
		}
		first = false
	}
}

func TestCSVReader(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		delim byte
		want  []readResult
	}{
		{"simple", "a,b\n1,2\n3,4\n", ',', []readResult{{1, "a|b", ""}, {2, "1|2", ""}, {3, "3|4", ""}}},
		{"crlf and no final newline", "a,b\r\n1,2\r\n3,4", ',', []readResult{{1, "a|b", ""}, {2, "1|2", ""}, {3, "3|4", ""}}},
		{"bom", "\xef\xbb\xbfa,b\n1,2\n", ',', []readResult{{1, "a|b", ""}, {2, "1|2", ""}}},
		{"quoted delimiter and quote", "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n", ',', []readResult{{1, "a|b", ""}, {2, "x,y|say \"hi\"", ""}}},
		{"multi-line field keeps lines", "a,b\n\"1\n2\",3\n4,5\n", ',', []readResult{{1, "a|b", ""}, {2, "1\n2|3", ""}, {4, "4|5", ""}}},
		{"blank lines skipped", "a,b\n\n1,2\n\n", ',', []readResult{{1, "a|b", ""}, {3, "1|2", ""}}},
		{"empty fields", "a,b,c\n,,\n", ',', []readResult{{1, "a|b|c", ""}, {2, "||", ""}}},
		{"tab", "a\tb\n1\t2\n", '\t', []readResult{{1, "a|b", ""}, {2, "1|2", ""}}},
		{"pipe", "a|b\n1|2\n", '|', []readResult{{1, "a|b", ""}, {2, "1|2", ""}}},
		{"too few fields", "a,b\n1\n2,3\n", ',', []readResult{{1, "a|b", ""}, {2, "", "wrong field count: 1 fields, the header has 2"}, {3, "2|3", ""}}},
		{"too many fields", "a,b\n1,2,3\n", ',', []readResult{{1, "a|b", ""}, {2, "", "wrong field count: 3 fields, the header has 2"}}},
		{"bare quote", "a,b\nO\"Brien,2\n3,4\n", ',', []readResult{{1, "a|b", ""}, {2, "", "bad quoting: a quote inside an unquoted field"}, {3, "3|4", ""}}},
		{"text after quote", "a,b\n\"x\"y,2\n3,4\n", ',', []readResult{{1, "a|b", ""}, {2, "", "bad quoting: text after a closing quote"}, {3, "3|4", ""}}},
		{"unterminated quote at end", "a,b\n1,2\n\"3,4\n5,6\n", ',', []readResult{{1, "a|b", ""}, {2, "1|2", ""}, {3, "", "bad quoting: a quoted field is not closed before the end of the file"}, {4, "5|6", ""}}},
		{"stray quote costs one row", "a,b\n\"1,2\n3,\"4\"\n5,6\n", ',', []readResult{{1, "a|b", ""}, {2, "", "bad quoting: text after a closing quote"}, {3, "3|4", ""}, {4, "5|6", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, tt.text, tt.delim)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d results %+v, want %+v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("result %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzCSVReader checks the loader's promise on any input: every non-blank
// physical line is accounted for — read as (part of) a record or rejected —
// and the reader always terminates.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"), byte(','))
	f.Add([]byte("a,b\n\"1\n2\",3\n\"4,5\n"), byte(','))
	f.Add([]byte("a\tb\r\n1\t\"x\"\"y\"\r\n"), byte('\t'))
	f.Fuzz(func(t *testing.T, data []byte, delim byte) {
		if delim == '"' || delim == '\n' || delim == '\r' {
			return
		}
		r := newCSVReader(bytes.NewReader(data), delim, nil)
		lastLine := 0
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatal("reader does not terminate")
			}
			_, line, err := r.Read()
			if err == io.EOF {
				return
			}
			var re *RowError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("unexpected error %v", err)
			}
			if line <= lastLine {
				t.Fatalf("line %d after line %d", line, lastLine)
			}
			lastLine = line
			if i == 0 {
				r.want = 2
			}
		}
	})
}
