package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/selondon/carematch/config"
	"github.com/selondon/carematch/linkage"
	"github.com/selondon/carematch/reports"
	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/store"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "a local review page: 127.0.0.1 only, with a one-time token in the URL it prints",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "configuration `FILE`"},
			&cli.IntFlag{Name: "port", Value: 0, Usage: "port on 127.0.0.1 (0: any free one)"},
			&cli.StringFlag{Name: "analyst", Usage: "your name, for the audit trail (default $USER)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			analyst := cmd.String("analyst")
			if analyst == "" {
				analyst = os.Getenv("USER")
			}
			s, err := newReviewServer(cfg, analyst)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cmd.Int("port")))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.Root().Writer, "review page: http://%s/?token=%s\n(ctrl-c to stop)\n", ln.Addr(), s.token)
			srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
			go func() { <-ctx.Done(); srv.Close() }()
			if err := srv.Serve(ln); err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
}

// reviewServer serves the review page. Every request must come from a
// loopback address and carry the token (in the URL once, then a cookie).
type reviewServer struct {
	cfg     *config.Config
	token   string
	analyst string
	log     *review.Log
}

func newReviewServer(cfg *config.Config, analyst string) (*reviewServer, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &reviewServer{cfg: cfg, token: hex.EncodeToString(b), analyst: analyst, log: review.Open(cfg.Run.StateDir)}, nil
}

const tokenCookie = "carematch_review"

func (s *reviewServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "the review page answers this machine only", http.StatusForbidden)
		return
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		if c, err := r.Cookie(tokenCookie); err == nil {
			tok = c.Value
		}
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		http.Error(w, "a valid token is needed: use the URL carematch review serve printed", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'")
	switch {
	case r.URL.Path == "/":
		s.list(w, r)
	case strings.HasPrefix(r.URL.Path, "/item/") && r.Method == http.MethodPost:
		s.decide(w, r, strings.TrimPrefix(r.URL.Path, "/item/"))
	case strings.HasPrefix(r.URL.Path, "/item/"):
		s.item(w, r, strings.TrimPrefix(r.URL.Path, "/item/"))
	default:
		http.NotFound(w, r)
	}
}

func (s *reviewServer) queue() ([]review.Item, string, error) {
	run := filepath.Join(s.cfg.Run.PublishDir, "current")
	in, _, err := s.log.InForce()
	if err != nil {
		return nil, "", err
	}
	items, err := review.LoadQueue(filepath.Join(run, "exceptions", "review_queue.csv"), filepath.Join(run, "index", "xref.csv"), in)
	return items, run, err
}

func (s *reviewServer) list(w http.ResponseWriter, r *http.Request) {
	items, _, err := s.queue()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	render(w, listPage, map[string]any{"Items": items, "Decided": r.URL.Query().Get("decided")})
}

// itemValues reads an item's row of review_queue.csv: both records' values,
// side by side, for the analyst.
func itemValues(run string, it review.Item) ([][3]string, error) {
	f, err := os.Open(filepath.Join(run, "exceptions", "review_queue.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	hdr := rows[0]
	for _, row := range rows[1:] {
		get := func(col string) string {
			for i, h := range hdr {
				if h == col {
					return row[i]
				}
			}
			return ""
		}
		if review.ItemID(review.Record{Source: get("left_source_id"), Local: get("left_local_id")},
			review.Record{Source: get("right_source_id"), Local: get("right_local_id")}) != it.ID {
			continue
		}
		var out [][3]string
		for _, f := range []string{"nhs_number", "given_name", "middle_names", "family_name", "dob", "sex", "postcode", "address_key"} {
			out = append(out, [3]string{strings.ReplaceAll(f, "_", " "), get("left_" + f), get("right_" + f)})
		}
		return out, nil
	}
	return nil, fmt.Errorf("item %s is not in the queue", it.ID)
}

// findItem looks up an open item, answering the request itself when it
// cannot.
func (s *reviewServer) findItem(w http.ResponseWriter, id string) (review.Item, []review.Item, string, bool) {
	items, run, err := s.queue()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return review.Item{}, nil, "", false
	}
	it, err := review.FindItem(items, id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return review.Item{}, nil, "", false
	}
	return it, items, run, true
}

func (s *reviewServer) item(w http.ResponseWriter, r *http.Request, id string) {
	it, items, run, ok := s.findItem(w, id)
	if !ok {
		return
	}
	values, err := itemValues(run, it)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	var explained *linkage.Explanation
	if m, err := reports.ReadManifest(filepath.Join(run, "manifest.json")); err == nil {
		if model, err := linkage.LoadModel(filepath.Join(run, "model.json")); err == nil {
			if db, err := store.OpenReadOnly(m.StateDB); err == nil {
				explained, _ = linkage.Explain(r.Context(), db, model, [2]string{it.Left.Source, it.Left.Local}, [2]string{it.Right.Source, it.Right.Local})
				db.Close()
			}
		}
	}
	next := ""
	for i, x := range items {
		if x.ID == id && i+1 < len(items) {
			next = items[i+1].ID
		}
	}
	render(w, itemPage, map[string]any{"Item": it, "Values": values, "Explain": explained, "Next": next, "Analyst": s.analyst})
}

func (s *reviewServer) decide(w http.ResponseWriter, r *http.Request, id string) {
	it, _, _, ok := s.findItem(w, id)
	if !ok {
		return
	}
	kinds := map[string]string{"link": review.Link, "no_link": review.NoLink}
	kind, ok := kinds[r.FormValue("kind")]
	if !ok {
		http.Error(w, "kind must be link or no_link", http.StatusBadRequest)
		return
	}
	analyst := r.FormValue("analyst")
	if analyst == "" {
		analyst = s.analyst
	}
	right := it.Right
	d := review.Decision{Kind: kind, Left: it.Left, Right: &right, Analyst: analyst, Reason: r.FormValue("reason")}
	fingerprint(r.Context(), s.cfg, &d)
	d, err := s.log.Decide(d)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/?decided="+d.ID, http.StatusSeeOther)
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

const pageStyle = `<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2a33;max-width:70rem}
table{border-collapse:collapse} td,th{padding:.3rem .6rem;border-bottom:1px solid #e3e6ea;text-align:left}
th{background:#f2f4f7} .diff td{background:#fff4e5} .diff td:first-child{font-weight:bold}
.num{text-align:right;font-variant-numeric:tabular-nums} kbd{border:1px solid #99a;border-radius:3px;padding:0 .3rem}
button{margin-right:.5rem;padding:.3rem .8rem}</style>`

var listPage = template.Must(template.New("list").Parse(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>carematch review queue</title>` + pageStyle + `</head><body>
<h1>Review queue</h1>
{{if .Decided}}<p id="decided">Decision {{.Decided}} recorded: the next nightly run applies it.</p>{{end}}
<p>{{len .Items}} open items, most important first. Open one and press <kbd>l</kbd> link, <kbd>n</kbd> no link, <kbd>j</kbd> next.</p>
<table><tr><th>item</th><th>kind</th><th class="num">weight</th><th class="num">records</th><th>left</th><th>right</th><th>guard</th></tr>
{{range .Items}}<tr><td><a href="/item/{{.ID}}">{{.ID}}</a></td><td>{{.Kind}}</td><td class="num">{{printf "%.2f" .Weight}}</td><td class="num">{{.Records}}</td><td>{{.Left}}</td><td>{{.Right}}</td><td>{{.Guard}}</td></tr>
{{end}}</table></body></html>`))

var itemPage = template.Must(template.New("item").Parse(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>carematch review {{.Item.ID}}</title>` + pageStyle + `</head><body>
<p><a href="/">queue</a>{{if .Next}} · <a id="next" href="/item/{{.Next}}">next item</a>{{end}}</p>
<h1>{{.Item.Left}} and {{.Item.Right}}</h1>
<table><tr><th></th><th>{{.Item.Left}}</th><th>{{.Item.Right}}</th></tr>
{{range .Values}}<tr{{if ne (index . 1) (index . 2)}} class="diff"{{end}}><td>{{index . 0}}</td><td>{{index . 1}}</td><td>{{index . 2}}</td></tr>
{{end}}</table>
{{with .Explain}}<h2>Evidence</h2><table><tr><th>comparison</th><th>level</th><th class="num">weight</th></tr>
<tr><td>prior</td><td></td><td class="num">{{printf "%+.2f" .Prior}}</td></tr>
{{range .Comparisons}}<tr><td>{{.Name}}</td><td>{{.Level}}</td><td class="num">{{printf "%+.2f" .Weight}}{{if .TFNote}} ({{printf "%+.2f" .TF}} term frequency){{end}}</td></tr>
{{end}}<tr><th>match weight</th><th>{{.Decision}}{{if .Guard}} · {{.Guard}}{{end}}</th><th class="num">{{printf "%+.2f" .Total}}</th></tr></table>{{end}}
<h2>Decision</h2>
<form id="decide" method="post" action="/item/{{.Item.ID}}">
<input type="hidden" name="kind" id="kind" value="">
<p><label>reason <input name="reason" id="reason" size="60" value="reviewed on the review page"></label>
<label>analyst <input name="analyst" value="{{.Analyst}}"></label></p>
<button type="submit" onclick="document.getElementById('kind').value='link'">link (<kbd>l</kbd>)</button>
<button type="submit" onclick="document.getElementById('kind').value='no_link'">no link (<kbd>n</kbd>)</button>
</form>
<script>
document.addEventListener('keydown', function (e) {
  if (e.target.tagName === 'INPUT') return;
  var f = document.getElementById('decide'), k = document.getElementById('kind');
  if (e.key === 'l') { k.value = 'link'; f.submit(); }
  if (e.key === 'n') { k.value = 'no_link'; f.submit(); }
  if (e.key === 'j') { var n = document.getElementById('next'); if (n) location.href = n.href; }
});
</script></body></html>`))
