package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
		Usage: "a local review page: 127.0.0.1 only, opened once with the one-time URL it prints",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "configuration `FILE`"},
			&cli.IntFlag{Name: "port", Value: 0, Usage: "port on 127.0.0.1 (0: any free one)"},
			&cli.StringFlag{Name: "analyst", Usage: "your name, for the audit trail of every decision made on the page (default $USER)"},
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
				return usagef("review serve: %v", err)
			}
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cmd.Int("port")))
			if err != nil {
				return err
			}
			s.listening(ln.Addr().String())
			fmt.Fprintf(cmd.Root().Writer, "review page: http://%s/?token=%s\n(the link opens one browser session; ctrl-c to stop)\n", ln.Addr(), s.token)
			srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
			go func() { <-ctx.Done(); srv.Close() }()
			if err := srv.Serve(ln); err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
}

// reviewServer serves the review page to one analyst on this machine.
//
// What it guards against, and how:
//   - other machines: it listens on 127.0.0.1 and answers loopback
//     addresses only;
//   - other pages in the analyst's browser (CSRF; any other port on
//     127.0.0.1 is the same site, so SameSite cookies alone do not help):
//     every form carries the session's own CSRF token, and a POST whose
//     Origin (or Sec-Fetch-Site) is not this server is refused;
//   - DNS rebinding: the Host header must name this server's address;
//   - a leaked link: the token in the printed URL is exchanged once for a
//     session cookie and is dead from then on;
//   - a forged name: decisions carry the analyst the server was started
//     for, never a name from the form.
type reviewServer struct {
	cfg     *config.Config
	analyst string
	log     *review.Log

	mu       sync.Mutex
	token    string              // one-time; "" once exchanged
	sessions map[string]*session // by cookie value
	hosts    []string            // Host values that name this server
	origins  []string            // Origin values of its own pages
}

// session is one browser's visit, begun with the one-time token.
type session struct {
	csrf string
}

func newReviewServer(cfg *config.Config, analyst string) (*reviewServer, error) {
	analyst = strings.TrimSpace(analyst)
	if analyst == "" {
		return nil, errors.New("say who is deciding: --analyst NAME (or set $USER)")
	}
	if len(analyst) > review.MaxAnalystBytes {
		return nil, fmt.Errorf("the analyst's name is over %d bytes", review.MaxAnalystBytes)
	}
	tok, err := randomHex()
	if err != nil {
		return nil, err
	}
	return &reviewServer{cfg: cfg, token: tok, analyst: analyst, log: review.Open(cfg.Run.StateDir), sessions: map[string]*session{}}, nil
}

// listening tells the server the address it answers on (host:port), for the
// Host and Origin checks; until then it answers nothing.
func (s *reviewServer) listening(addr string) {
	_, port, _ := net.SplitHostPort(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts = []string{"127.0.0.1:" + port, "localhost:" + port}
	s.origins = []string{"http://127.0.0.1:" + port, "http://localhost:" + port}
}

func randomHex() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

const sessionCookie = "carematch_review"

// maxFormBytes bounds a decision's form; the log's own limits are far below.
const maxFormBytes = 16 << 10

func (s *reviewServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "the review page answers this machine only", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	hostOK := slices.Contains(s.hosts, r.Host)
	s.mu.Unlock()
	if !hostOK {
		http.Error(w, "the review page answers only at its own address (127.0.0.1 and the port it printed)", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "same-origin") // no-referrer would make the page's own Origin "null"
	w.Header().Set("Cache-Control", "no-store")
	if tok := r.URL.Query().Get("token"); tok != "" {
		s.begin(w, r, tok)
		return
	}
	sess := s.session(r)
	if sess == nil {
		http.Error(w, "no review session: open the link carematch review serve printed (it works once)", http.StatusForbidden)
		return
	}
	switch {
	case r.Method == http.MethodPost:
		if !s.sameOrigin(r) {
			http.Error(w, "a decision can only be posted from the review page itself", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form is too large or malformed", http.StatusBadRequest)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(sess.csrf)) != 1 {
			http.Error(w, "the form is not from this review session: reload the page", http.StatusForbidden)
			return
		}
		if id, ok := strings.CutPrefix(r.URL.Path, "/item/"); ok {
			s.decide(w, r, id)
			return
		}
		http.NotFound(w, r)
	case r.URL.Path == "/":
		s.list(w, r)
	case strings.HasPrefix(r.URL.Path, "/item/"):
		s.item(w, r, sess, strings.TrimPrefix(r.URL.Path, "/item/"))
	default:
		http.NotFound(w, r)
	}
}

// begin exchanges the one-time token for a session cookie and sends the
// browser on to the same page without the token.
func (s *reviewServer) begin(w http.ResponseWriter, r *http.Request, tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		http.Error(w, "this link is not valid or has been used: start carematch review serve again for a new one", http.StatusForbidden)
		return
	}
	id, err1 := randomHex()
	csrf, err2 := randomHex()
	if err1 != nil || err2 != nil {
		http.Error(w, "no randomness for a session", http.StatusInternalServerError)
		return
	}
	s.token = ""
	s.sessions[id] = &session{csrf: csrf}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
}

func (s *reviewServer) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[c.Value]
}

// sameOrigin holds for a request from the page itself: its Origin is this
// server, or, where a client sends no Origin, Sec-Fetch-Site says the same
// origin. A client that sends neither still needs the session's CSRF token.
func (s *reviewServer) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.Contains(s.origins, o)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin"
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

func (s *reviewServer) item(w http.ResponseWriter, r *http.Request, sess *session, id string) {
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
	render(w, itemPage, map[string]any{"Item": it, "Values": values, "Explain": explained, "Next": next, "Analyst": s.analyst, "CSRF": sess.csrf})
}

func (s *reviewServer) decide(w http.ResponseWriter, r *http.Request, id string) {
	it, _, _, ok := s.findItem(w, id)
	if !ok {
		return
	}
	kinds := map[string]string{"link": review.Link, "no_link": review.NoLink}
	kind, ok := kinds[r.PostForm.Get("kind")]
	if !ok {
		http.Error(w, "kind must be link or no_link", http.StatusBadRequest)
		return
	}
	right := it.Right
	d := review.Decision{Kind: kind, Left: it.Left, Right: &right, Analyst: s.analyst, Reason: r.PostForm.Get("reason")}
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
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p><label>reason <input name="reason" id="reason" size="60" maxlength="2000" value="reviewed on the review page"></label>
deciding as <b id="analyst">{{.Analyst}}</b></p>
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
