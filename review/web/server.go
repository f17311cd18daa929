package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/selondon/carematch/review"
)

// Options are what the page shows and where its decisions go.
type Options struct {
	// Analyst is who every decision made on the page is recorded for.
	Analyst string
	// Log is the decision log decisions are appended to.
	Log *review.Log
	// Queue returns the open items of the current publication, most
	// important first.
	Queue func() ([]review.Item, error)
	// Evidence explains an item; nil, or an error, shows none.
	Evidence func(ctx context.Context, it review.Item) (*Evidence, error)
	// Stamp fingerprints a decision's records before it is recorded; nil
	// records it unstamped.
	Stamp func(ctx context.Context, d *review.Decision)
	// Persons returns every record of the item's two persons (an opt-out
	// form is none); nil, or an error, shows none.
	Persons func(ctx context.Context, it review.Item) ([]Person, error)
	// Logf, when set, hears of every decision recorded (its ID, kind and
	// item, the analyst: never a patient's value): the server's log.
	Logf func(format string, a ...any)
}

// Person is one person of an item, as the page shows it: its master ID and
// every record, each with the details analysts decide on.
type Person struct {
	MasterID string
	Records  []PersonRecord
}

// PersonRecord is one record of a person, with its details as its source
// wrote them (the address as written, beside the key matching used).
type PersonRecord struct {
	Key                                                         string // source:local_id
	NHSNumber, Given, Family, DOB, Sex, Address, Postcode, AKey string
}

// Evidence is the waterfall of an item's match weight. It holds no
// patient value.
type Evidence struct {
	Prior       float64
	Comparisons []EvidenceRow
	Total       float64
	Decision    string
	Guard       string
}

// EvidenceRow is one comparison's part in the weight.
type EvidenceRow struct {
	Name, Level string
	Weight      float64
	TF          float64 // term-frequency adjustment
	TFNote      string  // what it is based on; "" when there is none
}

// Server serves the review page to one analyst on this machine.
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
type Server struct {
	opt Options

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

var _ http.Handler = (*Server)(nil)

// SessionCookie is the name of the session cookie.
const SessionCookie = "carematch_review"

// maxFormBytes bounds a decision's form; the log's own limits are far below.
const maxFormBytes = 16 << 10

// New makes a server; it answers nothing until Listening names its address.
func New(opt Options) (*Server, error) {
	opt.Analyst = strings.TrimSpace(opt.Analyst)
	if opt.Analyst == "" {
		return nil, errors.New("say who is deciding: --analyst NAME (or set $USER)")
	}
	if len(opt.Analyst) > review.MaxAnalystBytes {
		return nil, fmt.Errorf("the analyst's name is over %d bytes", review.MaxAnalystBytes)
	}
	tok, err := randomHex()
	if err != nil {
		return nil, err
	}
	return &Server{opt: opt, token: tok, sessions: map[string]*session{}}, nil
}

// Token is the one-time token for the URL to print.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// Listening tells the server the address it answers on (host:port), for the
// Host and Origin checks.
func (s *Server) Listening(addr string) {
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

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
			s.decide(w, r, sess, id)
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
func (s *Server) begin(w http.ResponseWriter, r *http.Request, tok string) {
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
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
}

func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
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
func (s *Server) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.Contains(s.origins, o)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin"
}
