package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/selondon/carematch/review"
)

// The review page refuses requests from other machines and without the
// token; with it, an analyst sees the queue and an item's evidence, and a
// decision made there is the same decision the command line makes.
func TestReviewPage(t *testing.T) {
	_, cfg := publishedFixture(t)
	s, err := newReviewServer(cfg, "ann")
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, target, from string, body url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
		var r *http.Request
		if body != nil {
			r = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(method, target, nil)
		}
		r.RemoteAddr = from
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "/?token="+s.token, "192.0.2.7:5000", nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("another machine: %d", w.Code)
	}
	if w := do("GET", "/", "127.0.0.1:5000", nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("no token: %d", w.Code)
	}
	if w := do("GET", "/?token=wrong", "127.0.0.1:5000", nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("wrong token: %d", w.Code)
	}
	w := do("GET", "/?token="+s.token, "127.0.0.1:5000", nil, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("with the token: %d %s", w.Code, w.Body)
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == tokenCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly {
		t.Fatal("no HttpOnly token cookie")
	}
	m := regexp.MustCompile(`href="/item/(R[0-9a-f]{8})"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no items listed:\n%s", w.Body)
	}
	id := m[1]
	w = do("GET", "/item/"+id, "[::1]:5000", nil, cookie)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Evidence") || !strings.Contains(w.Body.String(), `id="decide"`) {
		t.Fatalf("item page: %d\n%s", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `class="diff"`) {
		t.Error("no difference highlighted")
	}
	w = do("POST", "/item/"+id, "127.0.0.1:5000", url.Values{"kind": {"no_link"}, "reason": {"twins, checked"}}, cookie)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("decide: %d %s", w.Code, w.Body)
	}
	in, _, err := review.Open(cfg.Run.StateDir).InForce()
	if err != nil || len(in) != 1 || in[0].Kind != review.NoLink || in[0].Analyst != "ann" || in[0].Reason != "twins, checked" {
		t.Fatalf("decision in the state: %+v (%v)", in, err)
	}
	if w := do("GET", "/", "127.0.0.1:5000", nil, cookie); strings.Contains(w.Body.String(), id) {
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
		done <- mainCodeCtx(ctx, []string{"carematch", "review", "serve", "--config", cfgPath}, pw, io.Discard)
		pw.Close()
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
	client := &http.Client{Timeout: 5 * time.Second}
	if resp, err := client.Get(u); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("with the token: %v %v", resp, err)
	}
	if resp, err := client.Get(strings.Split(u, "?")[0]); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the token: %v %v", resp, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d", code)
	}
}
