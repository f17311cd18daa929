package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/review/web"
)

// The review page refuses requests from other machines, under another host
// name, without a session, or with a used link; a session sees the queue
// and an item's evidence, and a decision posted there — only from the page
// itself, with its CSRF token, under the analyst the server was started
// for — is the same decision the command line makes.
func TestReviewPage(t *testing.T) {
	_, cfg := publishedFixture(t)
	if _, err := newReviewServer(cfg, " ", t.Logf); err == nil {
		t.Error("a server with no analyst's name started")
	}
	s, err := newReviewServer(cfg, "ann", t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	s.Listening("127.0.0.1:5555")
	type req struct {
		method, target, from, host string
		body                       url.Values
		cookie                     *http.Cookie
		header                     map[string]string
	}
	do := func(q req) *httptest.ResponseRecorder {
		var r *http.Request
		if q.body != nil {
			r = httptest.NewRequest(q.method, q.target, strings.NewReader(q.body.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(q.method, q.target, nil)
		}
		r.RemoteAddr, r.Host = q.from, q.host
		if r.RemoteAddr == "" {
			r.RemoteAddr = "127.0.0.1:40000"
		}
		if r.Host == "" {
			r.Host = "127.0.0.1:5555"
		}
		if q.cookie != nil {
			r.AddCookie(q.cookie)
		}
		for k, v := range q.header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	token := s.Token()
	for name, q := range map[string]req{
		"another machine": {method: "GET", target: "/?token=" + token, from: "192.0.2.7:5000"},
		"DNS rebinding":   {method: "GET", target: "/?token=" + token, host: "evil.example:5555"},
		"no session":      {method: "GET", target: "/"},
		"wrong token":     {method: "GET", target: "/?token=wrong"},
	} {
		if w := do(q); w.Code != http.StatusForbidden {
			t.Errorf("%s: %d", name, w.Code)
		}
	}
	w := do(req{method: "GET", target: "/?token=" + token, host: "localhost:5555"})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("with the token: %d %v", w.Code, w.Header())
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == web.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.Value == token {
		t.Fatalf("no HttpOnly session cookie of its own: %+v", cookie)
	}
	if w := do(req{method: "GET", target: "/?token=" + token}); w.Code != http.StatusForbidden {
		t.Errorf("the link worked twice: %d", w.Code)
	}
	w = do(req{method: "GET", target: "/", cookie: cookie})
	if w.Code != http.StatusOK {
		t.Fatalf("queue: %d %s", w.Code, w.Body)
	}
	m := regexp.MustCompile(`href="/item/(R[0-9a-f]{8})"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no items listed:\n%s", w.Body)
	}
	id := m[1]
	w = do(req{method: "GET", target: "/item/" + id, from: "[::1]:5000", cookie: cookie})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Evidence") || !strings.Contains(w.Body.String(), `id="decide"`) {
		t.Fatalf("item page: %d\n%s", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `class="diff"`) {
		t.Error("no difference highlighted")
	}
	// What the item asks, and every record of both persons with the address
	// as written beside the key; no reason written for the analyst.
	page := w.Body.String()
	if !strings.Contains(page, `id="why"`) || !strings.Contains(page, "Every record of both persons") ||
		!strings.Contains(page, "address as written") || strings.Count(page, `<h3 class="person">`) < 1 ||
		!strings.Contains(page, `id="detach-left"`) || regexp.MustCompile(`name="reason"[^>]*value="[^"]`).MatchString(page) {
		t.Errorf("item page lacks the kind's reason, the persons' records, detach, or pre-fills a reason:\n%s", page)
	}
	// The list filters by kind and by source.
	kindOf := regexp.MustCompile(`<tr class="item"><td><a href="/item/R[0-9a-f]{8}">R[0-9a-f]{8}</a></td><td>([a-z_]+)</td>`)
	all := kindOf.FindAllStringSubmatch(do(req{method: "GET", target: "/", cookie: cookie}).Body.String(), -1)
	filtered := kindOf.FindAllStringSubmatch(do(req{method: "GET", target: "/?kind=review", cookie: cookie}).Body.String(), -1)
	if len(filtered) == 0 || len(filtered) > len(all) {
		t.Errorf("filter by kind: %d of %d items", len(filtered), len(all))
	}
	for _, f := range filtered {
		if f[1] != "review" {
			t.Errorf("filter by kind review shows a %s item", f[1])
		}
	}
	if got := do(req{method: "GET", target: "/?source=no_such_source", cookie: cookie}).Body.String(); kindOf.MatchString(got) {
		t.Error("filter by an unknown source shows items")
	}
	if strings.Contains(w.Body.String(), `name="analyst"`) {
		t.Error("the form still takes an analyst's name")
	}
	csrf := regexp.MustCompile(`name="csrf" value="([0-9a-f]{32})"`).FindStringSubmatch(w.Body.String())
	if csrf == nil {
		t.Fatal("no CSRF token in the form")
	}
	form := func(extra ...string) url.Values {
		v := url.Values{"kind": {"link"}, "reason": {"forged"}, "csrf": {csrf[1]}, "analyst": {"mallory"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	self := map[string]string{"Origin": "http://127.0.0.1:5555"}
	for name, q := range map[string]req{
		"no CSRF token":        {body: form("csrf", ""), header: self},
		"another session's":    {body: form("csrf", strings.Repeat("0", 32)), header: self},
		"another origin":       {body: form(), header: map[string]string{"Origin": "http://evil.example"}},
		"another port":         {body: form(), header: map[string]string{"Origin": "http://127.0.0.1:6666"}},
		"cross-site fetch":     {body: form(), header: map[string]string{"Sec-Fetch-Site": "same-site"}},
		"no session":           {body: form(), header: self, cookie: &http.Cookie{Name: web.SessionCookie, Value: "x"}},
		"reason over limit":    {body: form("reason", strings.Repeat("r", review.MaxReasonBytes+1)), header: self},
		"no reason":            {body: form("reason", "  "), header: self},
		"no kind":              {body: form("kind", "merge"), header: self},
		"body over form limit": {body: form("reason", strings.Repeat("r", 2<<20)), header: self},
	} {
		q.method, q.target = "POST", "/item/"+id
		if q.cookie == nil {
			q.cookie = cookie
		}
		w := do(q)
		switch {
		case w.Code == http.StatusUnprocessableEntity:
			// A mistake in the form: the item again, the problem said inline.
			if !strings.Contains(w.Body.String(), `id="problem"`) || !strings.Contains(w.Body.String(), `id="decide"`) {
				t.Errorf("%s: no inline problem on the item page:\n%s", name, w.Body)
			}
		case w.Code != http.StatusForbidden && w.Code != http.StatusBadRequest:
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	if in, _, _ := review.Open(cfg.Run.StateDir).InForce(); len(in) != 0 {
		t.Fatalf("a refused post was recorded: %+v", in)
	}
	w = do(req{method: "POST", target: "/item/" + id, cookie: cookie, header: self, body: form("kind", "no_link", "reason", "twins, checked")})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("decide: %d %s", w.Code, w.Body)
	}
	in, _, err := review.Open(cfg.Run.StateDir).InForce()
	if err != nil || len(in) != 1 || in[0].Kind != review.NoLink || in[0].Analyst != "ann" || in[0].Reason != "twins, checked" {
		t.Fatalf("decision in the state: %+v (%v)", in, err)
	}
	if w := do(req{method: "GET", target: "/", cookie: cookie}); strings.Contains(w.Body.String(), id) {
		t.Error("the decided item is still in the queue")
	}
}

// The real command binds 127.0.0.1 and prints a URL with the token.
func TestReviewServeBindsLoopback(t *testing.T) {
	dir, cfg := publishedFixture(t)
	cfgPath := configCopy(t, dir, cfg)

	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		code := mainCodeCtx(ctx, []string{"carematch", "review", "serve", "--config", cfgPath, "--analyst", "ann"}, pw, io.Discard)
		pw.Close()
		done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	u := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{32}`).FindString(line)
	if u == "" {
		t.Fatalf("no loopback URL with a token in %q", line)
	}
	go io.Copy(io.Discard, pr)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Timeout: 5 * time.Second, Jar: jar}
	if resp, err := client.Get(u); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("with the token: %v %v", resp, err)
	}
	other := &http.Client{Timeout: 5 * time.Second}
	if resp, err := other.Get(u); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("the link a second time: %v %v", resp, err)
	}
	if resp, err := other.Get(strings.Split(u, "?")[0]); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the token: %v %v", resp, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d", code)
	}
}
