package web

import (
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/selondon/carematch/review"
)

//go:embed templates/*.html
var templateFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"label": func(field string) string { return strings.ReplaceAll(field, "_", " ") },
}).ParseFS(templateFiles, "templates/*.html"))

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	items, err := s.opt.Queue()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	render(w, "list.html", map[string]any{"Items": items, "Decided": r.URL.Query().Get("decided")})
}

// findItem looks up an open item, answering the request itself when it
// cannot.
func (s *Server) findItem(w http.ResponseWriter, id string) (review.Item, []review.Item, bool) {
	items, err := s.opt.Queue()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return review.Item{}, nil, false
	}
	it, err := review.FindItem(items, id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return review.Item{}, nil, false
	}
	return it, items, true
}

func (s *Server) item(w http.ResponseWriter, r *http.Request, sess *session, id string) {
	it, items, ok := s.findItem(w, id)
	if !ok {
		return
	}
	var ev *Evidence
	if s.opt.Evidence != nil {
		ev, _ = s.opt.Evidence(r.Context(), it)
	}
	next := ""
	for i, x := range items {
		if x.ID == id && i+1 < len(items) {
			next = items[i+1].ID
		}
	}
	render(w, "item.html", map[string]any{"Item": it, "Explain": ev, "Next": next, "Analyst": s.opt.Analyst, "CSRF": sess.csrf})
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, id string) {
	it, _, ok := s.findItem(w, id)
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
	d := review.Decision{Kind: kind, Left: it.Left, Right: &right, Analyst: s.opt.Analyst, Reason: r.PostForm.Get("reason")}
	if s.opt.Stamp != nil {
		s.opt.Stamp(r.Context(), &d)
	}
	d, err := s.opt.Log.Decide(d)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/?decided="+d.ID, http.StatusSeeOther)
}

func render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
