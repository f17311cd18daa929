package extract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/store"
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

// BenchmarkLoad loads 100,000 rows of one CSV source, every field mapped,
// into a real database: the reader, the rules and the Appender together.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString(emisHeader + "\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "g%d,4010232137,01,Mr,Robert,Smith-Jones,1975-03-04,M,%d Lee High Road,Lewisham,SE13 6XY,N,N\n", i, i%200)
	}
	if err := os.WriteFile(filepath.Join(dir, "gp.csv"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	one := loadConfig[:strings.Index(loadConfig, "\n[[source]]\nid = \"asc\"")]
	cfg, err := config.Parse([]byte(one), filepath.Join(dir, "carematch.toml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		db, err := store.Open("", 2)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.CreateSchema(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		if _, err := LoadAll(context.Background(), db, cfg, Options{Today: today}); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}
