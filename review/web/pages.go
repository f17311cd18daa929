package web

import (
	"embed"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/selondon/carematch/review"
)

//go:embed templates/*.html
var templateFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"label": func(field string) string { return strings.ReplaceAll(field, "_", " ") },
}).ParseFS(templateFiles, "templates/*.html"))

// kindWhy says what each kind of item asks of the analyst.
var kindWhy = map[string]string{
	"review":              "the model could not decide: the pair scores in the review band, or a guard held back a link",
	"chain":               "a link clustering refused: it would have put in one person two records that score below the review band, or too many records",
	"optout":              "an opt-out form (left) that may be this person, who is kept out of the portal until you decide",
	"nhs_number_conflict": "the records share a valid NHS number but their demographics clearly disagree: is the number or are the details wrong?",
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	items, err := s.opt.Queue()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	kind, source := q.Get("kind"), q.Get("source")
	kinds, sources := map[string]bool{}, map[string]bool{}
	var shown []review.Item
	for _, it := range items {
		kinds[it.Kind], sources[it.Left.Source], sources[it.Right.Source] = true, true, true
		if (kind == "" || it.Kind == kind) && (source == "" || it.Left.Source == source || it.Right.Source == source) {
			shown = append(shown, it)
		}
	}
	render(w, "list.html", map[string]any{"Items": shown, "All": len(items), "Decided": q.Get("decided"),
		"Kind": kind, "Source": source, "Kinds": slices.Sorted(maps.Keys(kinds)), "Sources": slices.Sorted(maps.Keys(sources))})
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
	s.renderItem(w, r, sess, it, items, "", "")
}

// renderItem shows an item: what it asks, both records side by side, every
// record of both persons, the evidence and the decision form — with a
// problem in the last decision sent (problem), and the reason typed.
func (s *Server) renderItem(w http.ResponseWriter, r *http.Request, sess *session, it review.Item, items []review.Item, problem, reason string) {
	var ev *Evidence
	if s.opt.Evidence != nil {
		ev, _ = s.opt.Evidence(r.Context(), it)
	}
	var persons []Person
	if s.opt.Persons != nil {
		persons, _ = s.opt.Persons(r.Context(), it)
	}
	next := ""
	for i, x := range items {
		if x.ID == it.ID && i+1 < len(items) {
			next = items[i+1].ID
		}
	}
	if problem != "" {
		w.WriteHeader(http.StatusUnprocessableEntity)
	}
	render(w, "item.html", map[string]any{"Item": it, "Why": kindWhy[it.Kind], "Explain": ev, "Persons": persons, "Next": next,
		"Analyst": s.opt.Analyst, "CSRF": sess.csrf, "Problem": problem, "Reason": reason})
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, sess *session, id string) {
	it, items, ok := s.findItem(w, id)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	d := review.Decision{Left: it.Left, Analyst: s.opt.Analyst, Reason: reason}
	right := it.Right
	switch r.PostForm.Get("kind") {
	case "link":
		d.Kind, d.Right = review.Link, &right
	case "no_link":
		d.Kind, d.Right = review.NoLink, &right
	case "detach_left":
		d.Kind = review.Detach
	case "detach_right":
		d.Kind, d.Left = review.Detach, it.Right
	default:
		s.renderItem(w, r, sess, it, items, "Choose link, no link or detach.", reason)
		return
	}
	if reason == "" {
		s.renderItem(w, r, sess, it, items, "Say why: a reason is required, for the audit trail and for whoever reads this decision next.", reason)
		return
	}
	if s.opt.Stamp != nil {
		s.opt.Stamp(r.Context(), &d)
	}
	d, err := s.opt.Log.Decide(d)
	if err != nil {
		s.renderItem(w, r, sess, it, items, "The decision was not recorded: "+err.Error(), reason)
		return
	}
	if s.opt.Logf != nil {
		s.opt.Logf("review: decision %s (%s) on item %s recorded for %s", d.ID, d.Kind, it.ID, d.Analyst)
	}
	http.Redirect(w, r, "/?decided="+d.ID, http.StatusSeeOther)
}

func render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
