package reports

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"os"

	"github.com/selondon/carematch/store"
)

// ReportData is what report.html shows: counts and rates only, never a
// patient's value.
type ReportData struct {
	M           *Manifest
	Sources     []SourceQuality
	Methods     []Bar
	MethodsMax  int64
	Histogram   []Bar // match weights in bins
	HistMax     int64
	LinkAt      float64
	ReviewAt    float64
	HistLo      float64
	HistStep    float64
	Exceptions  []ExceptionCount
	Changes     []Bar
	ReviewItems int64
}

// SourceQuality is one source's data quality.
type SourceQuality struct {
	ID                                string
	Read, Loaded, Rejected            int64
	InvalidNHS, InvalidDOB, InvalidPC int64
	WithNHS, Verified                 float64 // shares of loaded records, percent
}

// Bar is a labelled count.
type Bar struct {
	Label string
	N     int64
}

// ExceptionCount is one line of summary.csv.
type ExceptionCount struct {
	Kind, Source string
	N            int64
}

const histLo, histHi, histStep = -40.0, 60.0, 2.0

// WriteHTML writes report.html: one self-contained page (inline CSS and SVG,
// no scripts, no network) for the analysts.
func WriteHTML(ctx context.Context, db *store.DB, m *Manifest, linkAt, reviewAt float64, path string) error {
	d := &ReportData{M: m, LinkAt: linkAt, ReviewAt: reviewAt, HistLo: histLo, HistStep: histStep, ReviewItems: m.Counts["review_pairs"]}
	q := `SELECT f.source_id, sum(f.rows_read), sum(f.rows_loaded), sum(f.rows_rejected),
			coalesce((SELECT count(*) FROM exceptions e WHERE e.source_id = f.source_id AND e.kind = ` + store.ExcInvalidNHS.SQL() + `), 0),
			coalesce((SELECT count(*) FROM exceptions e WHERE e.source_id = f.source_id AND e.kind = ` + store.ExcInvalidDOB.SQL() + `), 0),
			coalesce((SELECT count(*) FROM exceptions e WHERE e.source_id = f.source_id AND e.kind = ` + store.ExcInvalidPost.SQL() + `), 0),
			coalesce((SELECT 100.0 * valid_nhs / records FROM record_counts r WHERE r.source_id = f.source_id), 0),
			coalesce((SELECT 100.0 * verified_nhs / records FROM record_counts r WHERE r.source_id = f.source_id), 0)
		FROM source_files f GROUP BY f.source_id ORDER BY f.source_id`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	for rows.Next() {
		var s SourceQuality
		if err := rows.Scan(&s.ID, &s.Read, &s.Loaded, &s.Rejected, &s.InvalidNHS, &s.InvalidDOB, &s.InvalidPC, &s.WithNHS, &s.Verified); err != nil {
			rows.Close()
			return err
		}
		d.Sources = append(d.Sources, s)
	}
	rows.Close()

	for _, k := range []string{"nhs_number", "probabilistic", "analyst", "singleton"} {
		if n := m.LinkMethods[k]; n > 0 || k != "analyst" {
			d.Methods = append(d.Methods, Bar{k, n})
			d.MethodsMax = max(d.MethodsMax, n)
		}
	}
	nb := int((histHi - histLo) / histStep)
	d.Histogram = make([]Bar, nb)
	for i := range d.Histogram {
		d.Histogram[i].Label = fmt.Sprintf("%+.0f", histLo+float64(i)*histStep)
	}
	rows, err = db.QueryContext(ctx, fmt.Sprintf(`SELECT least(greatest(floor((weight - %g) / %g), 0), %d)::INTEGER AS b, count(*)
		FROM scores GROUP BY 1`, histLo, histStep, nb-1))
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	for rows.Next() {
		var b int
		var n int64
		if err := rows.Scan(&b, &n); err != nil {
			rows.Close()
			return err
		}
		d.Histogram[b].N = n
		d.HistMax = max(d.HistMax, n)
	}
	rows.Close()

	rows, err = db.QueryContext(ctx, `SELECT kind, source_id, count(*) FROM exceptions GROUP BY ALL ORDER BY kind, source_id`)
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	for rows.Next() {
		var e ExceptionCount
		if err := rows.Scan(&e.Kind, &e.Source, &e.N); err != nil {
			rows.Close()
			return err
		}
		d.Exceptions = append(d.Exceptions, e)
	}
	rows.Close()

	changes := map[string]int64{}
	rows, err = db.QueryContext(ctx, `SELECT event, count(*) FROM history WHERE run_id = ? GROUP BY 1`, m.RunID)
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	for rows.Next() {
		var e string
		var n int64
		if err := rows.Scan(&e, &n); err != nil {
			rows.Close()
			return err
		}
		changes[e] = n
	}
	rows.Close()
	for _, e := range []string{"created", "merged_into", "split_from", "retired"} {
		d.Changes = append(d.Changes, Bar{e, changes[e]})
	}

	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, FileMode)
	if err != nil {
		return err
	}
	if err := reportTemplate.Execute(f, d); err != nil {
		f.Close()
		return fmt.Errorf("report.html: %w", err)
	}
	return f.Close()
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"barw": func(n, maxN int64, width float64) float64 {
		if maxN == 0 {
			return 0
		}
		return width * float64(n) / float64(maxN)
	},
	"barh": func(n, maxN int64, height float64) float64 {
		if maxN == 0 || n == 0 {
			return 0
		}
		// A log scale: non-matches outnumber matches a hundredfold.
		return height * math.Log1p(float64(n)) / math.Log1p(float64(maxN))
	},
	"mul":  func(a float64, b int) float64 { return a * float64(b) },
	"hx":   func(i int) float64 { return 40 + 12*float64(i) },
	"xpos": func(w, lo, step float64) float64 { return 40 + (w-lo)/step*12 },
	"sub":  func(a, b float64) float64 { return a - b },
	"add":  func(a, b float64) float64 { return a + b },
	"pct": func(a, b int64) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>carematch run {{.M.RunID}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d2a33;max-width:75rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd;padding-bottom:.2rem}
.meta{color:#557} table{border-collapse:collapse;margin:.5rem 0} td,th{padding:.25rem .6rem;border-bottom:1px solid #e3e6ea;text-align:right}
th{background:#f2f4f7} td:first-child,th:first-child{text-align:left}
.tiles{display:flex;flex-wrap:wrap;gap:1rem} .tile{background:#f2f4f7;border-radius:.4rem;padding:.7rem 1rem;min-width:9rem}
.tile b{display:block;font-size:1.4rem}
svg text{font-size:11px;fill:#334}
</style></head><body>
<h1>carematch nightly run {{.M.RunID}}</h1>
<p class="meta">started {{.M.Started.Format "2006-01-02 15:04:05"}} UTC · tool {{.M.ToolVersion}} · config sha256 {{printf "%.12s" .M.Config.SHA256}} · the run's manifest.json is beside this page</p>

<h2>Totals</h2>
<div class="tiles">
<div class="tile">rows read<b id="rows-read">{{index .M.Counts "rows_read"}}</b></div>
<div class="tile">rows rejected<b id="rows-rejected">{{index .M.Counts "rows_rejected"}}</b></div>
<div class="tile">records indexed<b>{{index .M.Counts "indexed_records"}}</b></div>
<div class="tile">persons<b id="persons">{{index .M.Counts "persons"}}</b></div>
<div class="tile">shared with the portal<b>{{index .M.Counts "portal_persons"}}</b></div>
<div class="tile">review queue<b id="review">{{.ReviewItems}}</b></div>
</div>

<h2>Data quality by source</h2>
<table><tr><th>source</th><th>read</th><th>loaded</th><th>rejected</th><th>invalid NHS number</th><th>invalid date of birth</th><th>invalid postcode</th><th>valid NHS number</th><th>verified</th></tr>
{{range .Sources}}<tr><td>{{.ID}}</td><td>{{.Read}}</td><td>{{.Loaded}}</td><td>{{.Rejected}}</td><td>{{.InvalidNHS}}</td><td>{{.InvalidDOB}}</td><td>{{.InvalidPC}}</td><td>{{printf "%.1f%%" .WithNHS}}</td><td>{{printf "%.1f%%" .Verified}}</td></tr>
{{end}}</table>

<h2>How records were linked</h2>
<svg width="560" height="{{mul 26.0 (len .Methods)}}" role="img" aria-label="records by link method">
{{range $i, $b := .Methods}}<text x="0" y="{{mul 26.0 $i | printf "%.0f"}}" dy="16">{{$b.Label}}</text>
<rect x="110" y="{{mul 26.0 $i}}" height="18" width="{{barw $b.N $.MethodsMax 360}}" fill="#3b6ea8"/>
<text x="{{add (barw $b.N $.MethodsMax 360) 116 | printf "%.0f"}}" y="{{mul 26.0 $i | printf "%.0f"}}" dy="14">{{$b.N}}</text>
{{end}}</svg>

<h2>Match weights of candidate pairs</h2>
<p class="meta">Log scale. Pairs at or above {{.LinkAt}} link; between {{.ReviewAt}} and {{.LinkAt}} go to review.</p>
<svg width="{{add (mul 12.0 (len .Histogram)) 60 | printf "%.0f"}}" height="235" role="img" aria-label="match weight histogram">
{{range $i, $b := .Histogram}}{{$h := barh $b.N $.HistMax 180}}<rect x="{{hx $i}}" y="{{sub 190 $h}}" width="10" height="{{$h}}" fill="#7a9cc6"><title>weight {{$b.Label}}: {{$b.N}} pairs</title></rect>
{{end}}<line x1="{{xpos .LinkAt .HistLo .HistStep}}" x2="{{xpos .LinkAt .HistLo .HistStep}}" y1="0" y2="195" stroke="#166534" stroke-width="2"/>
<text x="{{xpos .LinkAt .HistLo .HistStep}}" y="210">link</text>
<line x1="{{xpos .ReviewAt .HistLo .HistStep}}" x2="{{xpos .ReviewAt .HistLo .HistStep}}" y1="0" y2="195" stroke="#b45309" stroke-width="2" stroke-dasharray="4 2"/>
<text x="{{xpos .ReviewAt .HistLo .HistStep}}" y="225">review</text>
<text x="40" y="205">{{.HistLo}}</text><text x="{{hx (len .Histogram)}}" y="205">+{{printf "%.0f" (add .HistLo (mul .HistStep (len .Histogram)))}}</text></svg>

<h2>Change since the last night</h2>
{{if eq .M.Mode "incremental"}}<p class="meta">An incremental night: only the candidate pairs of new and changed records were built and compared ({{index .M.Counts "pairs_compared"}} of {{index .M.Counts "candidate_pairs"}}); the rest were carried from the last night.</p>
{{else if .M.Mode}}<p class="meta">A {{.M.Mode}} night: {{.M.ModeReason}}.</p>{{end}}
<p class="meta">Records by source, against last night's by their fingerprints (on the first night, all are new).</p>
<table><tr><th>source</th><th>new</th><th>changed</th><th>unchanged</th><th>gone</th></tr>
{{range .M.Sources}}{{if .Changes}}<tr><td>{{.ID}}</td><td id="records-{{.ID}}-new">{{.Changes.New}}</td><td id="records-{{.ID}}-changed">{{.Changes.Changed}}</td><td>{{.Changes.Unchanged}}</td><td id="records-{{.ID}}-gone">{{.Changes.Gone}}</td></tr>
{{end}}{{end}}</table>
<p class="meta">Master IDs: what tonight's persons did to last night's.</p>
<table><tr>{{range .Changes}}<th>{{.Label}}</th>{{end}}</tr><tr>{{range .Changes}}<td id="change-{{.Label}}">{{.N}}</td>{{end}}</tr></table>

<h2>Exceptions by kind and source</h2>
<p class="meta">Files in exceptions/ beside this page; the review queue is exceptions/review_queue.csv.</p>
<table><tr><th>kind</th><th>source</th><th>count</th></tr>
{{range .Exceptions}}<tr><td>{{.Kind}}</td><td>{{.Source}}</td><td>{{.N}}</td></tr>
{{end}}</table>
</body></html>
`))
