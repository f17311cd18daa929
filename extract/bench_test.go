package extract

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func BenchmarkCSVReader(b *testing.B) {
	row := `0A1B2C3D-1111-2222-3333-444455556666,4010232137,01,Mrs,Zoë,"Smith, Jones",1975-03-04,F,,12 Lee High Road,Lewisham,London,,SE136XY,false,false,false,` + "\n"
	data := []byte(strings.Repeat(row, 10_000))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := newCSVReader(bytes.NewReader(data), ',', nil)
		for {
			if _, _, err := r.Read(); err == io.EOF {
				break
			}
		}
	}
}
