// Package archtest holds the test that keeps the architecture's direction:
// which carematch package may import which (ARCHITECTURE.md).
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/selondon/carematch/"

// allowed lists, for each package, the carematch packages it may import:
// the one place they are written. It follows the table in
// ../shared/design/ARCHITECTURE.md; where it differs, docs/LAYOUT.md says
// why (extract reads config's description of a source; reports shows the
// model's comparisons and blocking statistics). Only store may import the
// DuckDB driver or Arrow; rules imports the standard library only; nothing
// imports cmd.
var allowed = map[string][]string{
	"rules":             {},
	"config":            {"rules"},
	"internal/cp1252":   {},
	"store":             {},
	"extract":           {"store", "rules", "config", "internal/cp1252"},
	"linkage":           {"store", "rules"},
	"mpi":               {"store", "rules", "linkage"},
	"portal":            {"store", "mpi"},
	"reports":           {"store", "linkage"},
	"review":            {"store"},
	"review/web":        {"review"},
	"publish":           {},
	"fixtures":          {"rules", "internal/cp1252"},
	"internal/archtest": {},
}

var driverImports = []string{"github.com/duckdb/", "github.com/apache/arrow-go/"}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "duckdb_arrow", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, module)
		if name == "cmd/carematch" {
			continue
		}
		ok, known := allowed[name]
		if !known {
			t.Errorf("package %s is not in the architecture test: add its allowed imports", name)
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module) {
				dep := strings.TrimPrefix(imp, module)
				if !contains(ok, dep) {
					t.Errorf("%s imports %s, which the allowed table here (ARCHITECTURE.md, docs/LAYOUT.md) does not allow", name, dep)
				}
			}
			for _, d := range driverImports {
				if strings.HasPrefix(imp, d) && name != "store" {
					t.Errorf("%s imports %s: only store may import the database driver", name, imp)
				}
			}
			if name == "rules" && !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				continue // standard library
			} else if name == "rules" {
				t.Errorf("rules imports %s: it may use the standard library only", imp)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
