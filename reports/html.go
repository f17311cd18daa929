package reports

import (
	"context"
	"fmt"
	"html/template"
	"maps"
	"math"
	"os"
	"slices"
	"time"

	"github.com/selondon/carematch/linkage"
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
	Changes     []Bar
	ReviewItems int64
	// Model is the model's parameter chart: m, u and the weight of every
	// comparison level.
	Model []ModelRow
	// Stages are the stages' durations so far (ms); Elapsed the run's
	// seconds up to this page.
	Stages  []Bar
	Elapsed float64
	// ExcKinds × ExcSources is the exceptions grid; ExcCells[kind][source].
	ExcKinds, ExcSources []string
	ExcCells             map[string]map[string]int64
	// Gaps explain the counts from rows read to persons shared.
	Gaps []Gap
	// YTicks are the histogram's count axis.
	YTicks []int64
}

// ModelRow is one comparison level of the model.
type ModelRow struct {
	Comparison, Level string
	First             bool // the comparison's first level: its name shown
	M, U, Weight      float64
	Null              bool // no evidence: weight 0
}

// Gap is one step from rows read to what the portal shows, and why.
type Gap struct {
	Label string
	N     int64
	Why   string
	Minus bool // taken away from the line above
	Start bool // a count of something else: the lines below start from it
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

const histLo, histHi, histStep = -40.0, 60.0, 2.0

// WriteHTML writes report.html: one self-contained page (inline CSS and SVG,
// no scripts, no network) for the analysts.
func WriteHTML(ctx context.Context, db *store.DB, m *Manifest, model *linkage.Model, path string) error {
	d := &ReportData{M: m, LinkAt: model.LinkThreshold, ReviewAt: model.ReviewThreshold, HistLo: histLo, HistStep: histStep,
		ReviewItems: m.Counts["review_pairs"], Elapsed: time.Since(m.Started).Seconds()}
	for c, cmp := range model.Comparisons {
		for l, lv := range cmp.Levels {
			d.Model = append(d.Model, ModelRow{Comparison: cmp.Name, Level: lv.Label, First: l == 0, M: model.M[c][l], U: model.U[c][l],
				Weight: model.Weight(c, l), Null: lv.Null})
		}
	}
	for _, st := range []string{"load", "link", "index", "portal"} {
		if ms, ok := m.TimingsMS[st]; ok {
			d.Stages = append(d.Stages, Bar{st, ms})
		}
	}
	if err := d.gaps(ctx, db); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
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

	for t := int64(1); t <= d.HistMax; t *= 10 {
		d.YTicks = append(d.YTicks, t)
	}
	rows, err = db.QueryContext(ctx, `SELECT kind, source_id, count(*) FROM exceptions GROUP BY ALL ORDER BY kind, source_id`)
	if err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	d.ExcCells = map[string]map[string]int64{}
	kinds, sources := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var kind, source string
		var n int64
		if err := rows.Scan(&kind, &source, &n); err != nil {
			rows.Close()
			return err
		}
		if d.ExcCells[kind] == nil {
			d.ExcCells[kind] = map[string]int64{}
		}
		d.ExcCells[kind][source] = n
		kinds[kind], sources[source] = true, true
	}
	rows.Close()
	d.ExcKinds, d.ExcSources = slices.Sorted(maps.Keys(kinds)), slices.Sorted(maps.Keys(sources))

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

// gaps explains the counts from the rows read to the persons the portal
// shows: each line what is taken away, and why.
func (d *ReportData) gaps(ctx context.Context, db *store.DB) error {
	c := d.M.Counts
	var withheldRecords, optedOutRecords, optedOutPersons, withheldPersons int64
	if err := db.QueryRowContext(ctx, `WITH opted AS (SELECT DISTINCT o.master_id FROM optout_persons o JOIN master_index m USING (master_id) WHERE NOT m.withheld)
		SELECT (SELECT count(*) FROM xref WHERE withheld_reason IS NOT NULL),
		(SELECT count(*) FROM xref WHERE withheld_reason IS NULL AND master_id IN (SELECT master_id FROM opted)),
		(SELECT count(*) FROM opted),
		(SELECT count(*) FROM master_index WHERE withheld)`).Scan(&withheldRecords, &optedOutRecords, &optedOutPersons, &withheldPersons); err != nil {
		return err
	}
	test := c["records"] - c["records_deleted"] - c["indexed_records"]
	d.Gaps = []Gap{
		{Label: "rows read", N: c["rows_read"]},
		{Label: "rejected", N: c["rows_rejected"], Minus: true, Why: "rows that could not be read or named no record (exceptions/rejected_rows.csv)"},
		{Label: "records loaded", N: c["records"]},
		{Label: "deleted in their source", N: c["records_deleted"], Minus: true, Why: "counted, not indexed"},
		{Label: "test-range NHS numbers", N: test, Minus: true, Why: "9xxxxxxxxx: test records in a live extract, kept out (exceptions/invalid_nhs_number.csv)"},
		{Label: "records indexed", N: c["indexed_records"]},
		{Label: "withheld records", N: withheldRecords, Minus: true, Why: "social care without consent to share, or quarantined: indexed as persons of their own, never shared"},
		{Label: "records of persons opted out", N: optedOutRecords, Minus: true, Why: "below"},
		{Label: "records shared with the portal", N: c["portal_records"]},
		{Label: "persons", N: c["persons"], Start: true},
		{Label: "persons withheld", N: withheldPersons, Minus: true, Why: "made only of withheld records"},
		{Label: "persons opted out", N: optedOutPersons, Minus: true, Why: "an opt-out form names them or may (review items of kind optout)"},
		{Label: "persons shared with the portal", N: c["portal_persons"]},
	}
	return nil
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
	// logx places a probability on the model chart's log scale, 10⁻⁶ to 1
	// over 160 px.
	"logx": func(p float64) float64 {
		if p <= 1e-6 {
			return 0
		}
		return 160 * (6 + math.Log10(p)) / 6
	},
	// wbar is a match weight's bar, ±20 over ±80 px from the middle.
	"wbar": func(w float64) float64 { return 80 * math.Max(-1, math.Min(1, w/20)) },
	"abs":  math.Abs,
	"ytick": func(n, maxN int64) float64 {
		if maxN == 0 {
			return 190
		}
		return 190 - 180*math.Log1p(float64(n))/math.Log1p(float64(maxN))
	},
	"cell": func(cells map[string]map[string]int64, kind, source string) int64 { return cells[kind][source] },
	"mul":  func(a float64, b int) float64 { return a * float64(b) },
	"ms":   func(n int64) float64 { return float64(n) / 1000 },
	"mod5": func(i int) int { return i % 5 },
	"sub1": func(n int) int { return n - 1 },
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
@media (max-width:40rem){body{margin:.8rem}}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd;padding-bottom:.2rem}
.meta{color:#557} table{border-collapse:collapse;margin:.5rem 0;display:block;overflow-x:auto;max-width:100%} td,th{padding:.25rem .6rem;border-bottom:1px solid #e3e6ea;text-align:right}
th{background:#f2f4f7} td:first-child,th:first-child{text-align:left}
.tiles{display:flex;flex-wrap:wrap;gap:1rem} .tile{background:#f2f4f7;border-radius:.4rem;padding:.7rem 1rem;min-width:9rem}
.tile b{display:block;font-size:1.4rem}
svg text{font-size:11px;fill:#334} svg{max-width:100%;height:auto}
.scroll{overflow-x:auto;max-width:100%} .minus td:first-child{padding-left:1.6rem;color:#557} .why{color:#557;text-align:left;font-size:.9em}
.grid td.zero{color:#bbc} #gaps tr.start td{border-top:2px solid #ccd} #model td:nth-child(2){text-align:left}
</style></head><body>
<h1>carematch nightly run {{.M.RunID}}</h1>
<p class="meta">started {{.M.Started.Format "2006-01-02 15:04:05"}} UTC · tool {{.M.ToolVersion}} · config sha256 {{printf "%.12s" .M.Config.SHA256}} · the run's manifest.json is beside this page</p>
<p id="status"><b>Published</b> (this page is published with the run only when every stage succeeded) · {{printf "%.1f" .Elapsed}} s up to this report:
{{range $i, $s := .Stages}}{{if $i}}, {{end}}{{$s.Label}} {{printf "%.1f" (ms $s.N)}} s{{end}}.</p>

<h2>Totals</h2>
<div class="tiles">
<div class="tile">rows read<b id="rows-read">{{index .M.Counts "rows_read"}}</b></div>
<div class="tile">rows rejected<b id="rows-rejected">{{index .M.Counts "rows_rejected"}}</b></div>
<div class="tile">records indexed<b>{{index .M.Counts "indexed_records"}}</b></div>
<div class="tile">persons<b id="persons">{{index .M.Counts "persons"}}</b></div>
<div class="tile">shared with the portal<b>{{index .M.Counts "portal_persons"}}</b></div>
<div class="tile">review queue<b id="review">{{.ReviewItems}}</b></div>
</div>

<h2>From rows read to the portal</h2>
<p class="meta">Why the counts differ from one line to the next.</p>
<div class="scroll"><table id="gaps">{{range .Gaps}}<tr{{if .Minus}} class="minus"{{else if .Start}} class="start"{{end}}><td>{{if .Minus}}− {{end}}{{.Label}}</td><td>{{.N}}</td><td class="why">{{.Why}}</td></tr>
{{end}}</table></div>

<h2>Data quality by source</h2>
<div class="scroll"><table><tr><th>source</th><th>read</th><th>loaded</th><th>rejected</th><th>invalid NHS number</th><th>invalid date of birth</th><th>invalid postcode</th><th>valid NHS number</th><th>verified</th></tr>
{{range .Sources}}<tr><td>{{.ID}}</td><td>{{.Read}}</td><td>{{.Loaded}}</td><td>{{.Rejected}}</td><td>{{.InvalidNHS}}</td><td>{{.InvalidDOB}}</td><td>{{.InvalidPC}}</td><td>{{printf "%.1f%%" .WithNHS}}</td><td>{{printf "%.1f%%" .Verified}}</td></tr>
{{end}}</table></div>

<h2>How records were linked</h2>
<svg viewBox="0 0 560 {{mul 26.0 (len .Methods)}}" width="560" height="{{mul 26.0 (len .Methods)}}" role="img" aria-label="records by link method">
{{range $i, $b := .Methods}}<text x="0" y="{{mul 26.0 $i | printf "%.0f"}}" dy="16">{{$b.Label}}</text>
<rect x="110" y="{{mul 26.0 $i}}" height="18" width="{{barw $b.N $.MethodsMax 360}}" fill="#3b6ea8"/>
<text x="{{add (barw $b.N $.MethodsMax 360) 116 | printf "%.0f"}}" y="{{mul 26.0 $i | printf "%.0f"}}" dy="14">{{$b.N}}</text>
{{end}}</svg>

<h2>Match weights of candidate pairs</h2>
<p class="meta">Pairs by match weight (x) in bins of {{.HistStep}}; the count (y) on a log scale. Pairs at or above {{.LinkAt}} link; between {{.ReviewAt}} and {{.LinkAt}} go to review. The first and last bars hold every pair beyond them.</p>
{{$w := add (mul 12.0 (len .Histogram)) 60}}<svg viewBox="0 0 {{printf "%.0f" $w}} 260" width="{{printf "%.0f" $w}}" height="260" role="img" aria-label="match weight histogram">
<line x1="38" x2="38" y1="10" y2="190" stroke="#99a"/><line x1="38" x2="{{hx (len .Histogram)}}" y1="190" y2="190" stroke="#99a"/>
{{range .YTicks}}<text x="34" y="{{ytick . $.HistMax | printf "%.0f"}}" text-anchor="end" dy="4">{{.}}</text><line x1="35" x2="38" y1="{{ytick . $.HistMax}}" y2="{{ytick . $.HistMax}}" stroke="#99a"/>
{{end}}<text x="4" y="12" class="axis">pairs</text>
{{range $i, $b := .Histogram}}{{$h := barh $b.N $.HistMax 180}}<rect x="{{hx $i}}" y="{{sub 190 $h}}" width="10" height="{{$h}}" fill="#7a9cc6"><title>weight {{$b.Label}}: {{$b.N}} pairs</title></rect>
{{end}}{{range $i, $b := .Histogram}}{{if eq (mod5 $i) 0}}<text x="{{hx $i}}" y="204" text-anchor="middle">{{$b.Label}}</text>{{end}}{{end}}
<text x="{{hx 0}}" y="218" id="tail-low">≤ {{printf "%+.0f" (add .HistLo .HistStep)}}</text>
<text x="{{hx (sub1 (len .Histogram))}}" y="218" text-anchor="end" id="tail-high">≥ {{printf "%+.0f" (add .HistLo (mul .HistStep (sub1 (len .Histogram))))}}</text>
<text x="{{add (hx (len .Histogram)) -60 | printf "%.0f"}}" y="232">match weight</text>
<line x1="{{xpos .LinkAt .HistLo .HistStep}}" x2="{{xpos .LinkAt .HistLo .HistStep}}" y1="0" y2="195" stroke="#166534" stroke-width="2"/>
<text x="{{xpos .LinkAt .HistLo .HistStep}}" y="248">link</text>
<line x1="{{xpos .ReviewAt .HistLo .HistStep}}" x2="{{xpos .ReviewAt .HistLo .HistStep}}" y1="0" y2="195" stroke="#b45309" stroke-width="2" stroke-dasharray="4 2"/>
<text x="{{xpos .ReviewAt .HistLo .HistStep}}" y="258" text-anchor="end">review</text></svg>

<h2>The model</h2>
<p class="meta">For each comparison level: m, how often records of one person are at that level; u, how often two random records are (log scale, 10⁻⁶ to 1); and the match weight log₂(m/u) it adds (bars ±20). Levels marked "no evidence" weigh 0.</p>
<div class="scroll"><table id="model"><tr><th>comparison</th><th>level</th><th>m</th><th>u</th><th>weight</th></tr>
{{range .Model}}<tr><td>{{if .First}}{{.Comparison}}{{end}}</td><td>{{.Level}}{{if .Null}} (no evidence){{end}}</td>
<td><svg width="170" height="12" role="img" aria-label="m {{printf "%.3g" .M}}"><rect x="0" y="1" height="10" width="{{logx .M}}" fill="#3b6ea8"/><title>m = {{printf "%.3g" .M}}</title></svg> {{printf "%.3g" .M}}</td>
<td><svg width="170" height="12" role="img" aria-label="u {{printf "%.3g" .U}}"><rect x="0" y="1" height="10" width="{{logx .U}}" fill="#b45309"/><title>u = {{printf "%.3g" .U}}</title></svg> {{printf "%.3g" .U}}</td>
<td><svg width="170" height="12" role="img" aria-label="weight {{printf "%+.2f" .Weight}}">{{$b := wbar .Weight}}<line x1="80" x2="80" y1="0" y2="12" stroke="#99a"/>{{if ge $b 0.0}}<rect x="80" y="1" height="10" width="{{$b}}" fill="#166534"/>{{else}}<rect x="{{add 80 $b}}" y="1" height="10" width="{{abs $b}}" fill="#b91c1c"/>{{end}}</svg> {{printf "%+.2f" .Weight}}</td></tr>
{{end}}</table></div>

<h2>Change since the last night</h2>
{{if eq .M.Mode "incremental"}}<p class="meta">An incremental night: only the candidate pairs of new and changed records were built and compared ({{index .M.Counts "pairs_compared"}} of {{index .M.Counts "candidate_pairs"}}); the rest were carried from the last night. Last night's persons were kept for {{index .M.Counts "records_in_persons_kept"}} of {{index .M.Counts "indexed_records"}} records, whose links, scores and decisions had not changed; the others were clustered again.</p>
{{else if .M.Mode}}<p class="meta">A {{.M.Mode}} night: {{.M.ModeReason}}.</p>{{end}}
<p class="meta">Records by source, against last night's by their fingerprints (on the first night, all are new).</p>
<table><tr><th>source</th><th>new</th><th>changed</th><th>unchanged</th><th>gone</th></tr>
{{range .M.Sources}}{{if .Changes}}<tr><td>{{.ID}}</td><td id="records-{{.ID}}-new">{{.Changes.New}}</td><td id="records-{{.ID}}-changed">{{.Changes.Changed}}</td><td>{{.Changes.Unchanged}}</td><td id="records-{{.ID}}-gone">{{.Changes.Gone}}</td></tr>
{{end}}{{end}}</table>
<p class="meta">Master IDs: what tonight's persons did to last night's.</p>
<table><tr>{{range .Changes}}<th>{{.Label}}</th>{{end}}</tr><tr>{{range .Changes}}<td id="change-{{.Label}}">{{.N}}</td>{{end}}</tr></table>

<h2>Exceptions by kind and source</h2>
<p class="meta">Each kind links to its file in exceptions/ beside this page; the review queue is <a href="exceptions/review_queue.csv">exceptions/review_queue.csv</a>.</p>
<div class="scroll"><table class="grid" id="exceptions"><tr><th>kind</th>{{range .ExcSources}}<th>{{.}}</th>{{end}}</tr>
{{range $k := .ExcKinds}}<tr><td><a href="exceptions/{{$k}}.csv">{{$k}}</a></td>{{range $s := $.ExcSources}}{{$n := cell $.ExcCells $k $s}}<td{{if eq $n 0}} class="zero"{{end}}>{{$n}}</td>{{end}}</tr>
{{end}}</table></div>
</body></html>
`))
