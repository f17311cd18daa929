package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/selondon/carematch/review"
	"github.com/selondon/carematch/review/web"
)

// headlessChromium starts a browser for a test, or skips where there is
// none (never in CI: .ci/run installs Debian's chromium and sets
// CAREMATCH_REQUIRE_CHROMIUM).
func headlessChromium(t *testing.T) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CAREMATCH_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is required here and not installed")
		}
		t.Skip("no chromium on this machine (.ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

// reviewPageServer serves the review page of a published fixture on
// 127.0.0.1, as the real command does.
func reviewPageServer(t *testing.T, handler func(s *web.Server) http.Handler) (*web.Server, *httptest.Server, string) {
	t.Helper()
	_, cfg := publishedFixture(t)
	s, err := newReviewServer(cfg, "ann", t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s
	if handler != nil {
		h = handler(s)
	}
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	s.Listening(srv.Listener.Addr().String())
	return s, srv, cfg.Run.StateDir
}

// openQueueInBrowser opens the one-time link in the browser and returns the first
// item's link.
func openQueueInBrowser(t *testing.T, ctx context.Context, link string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`table a`))); err != nil {
		t.Fatal(err)
	}
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`table a`), "href"))
	if err != nil {
		t.Fatal(err)
	}
	return href.Value
}

// The review page driven in headless Chromium, as an analyst would: open the
// queue with the one-time link, open the first item, write why, press n,
// and the decision is in the state under the server's analyst. Without a
// reason the browser does not send the form.
func TestReviewPageInChromium(t *testing.T) {
	ctx := headlessChromium(t)
	s, srv, stateDir := reviewPageServer(t, nil)
	href := openQueueInBrowser(t, ctx, srv.URL+"/?token="+s.Token())
	firstItem := href
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`table a`)),
		chromedp.WaitVisible(chromedp.CSS(`#decide`)),
		chromedp.KeyEvent("n"), // no reason yet: the form is not sent
	); err != nil {
		t.Fatal(err)
	}
	if in, _, _ := review.Open(stateDir).InForce(); len(in) != 0 {
		t.Fatalf("a decision without a reason was recorded: %+v", in)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#reason`), "twins: checked the GP record"),
		chromedp.Click(chromedp.CSS(`h1`)),
		chromedp.KeyEvent("n"),
		chromedp.WaitVisible(chromedp.CSS(`#decided`)),
	); err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#decided`)))
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := review.Open(stateDir).InForce()
	if err != nil || len(in) != 1 || in[0].Kind != review.NoLink || in[0].Analyst != "ann" {
		t.Fatalf("decision in the state: %+v (%v)", in, err)
	}
	if !strings.Contains(after, in[0].ID) || review.ItemID(in[0].Left, *in[0].Right) != strings.TrimPrefix(firstItem, "/item/") {
		t.Errorf("page said %q after deciding %s; state has %+v", after, firstItem, in[0])
	}
}

// A page on another 127.0.0.1 port — the same site, so the browser sends
// the analyst's SameSite=Strict cookie with its requests — cannot record a
// decision: not by a form it submits, nor by a fetch.
func TestReviewPageRefusesOtherPagesInChromium(t *testing.T) {
	ctx := headlessChromium(t)
	var mu sync.Mutex
	refused := 0
	s, srv, stateDir := reviewPageServer(t, func(s *web.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			if _, err := r.Cookie(web.SessionCookie); err == nil && r.Method == http.MethodPost && rec.Code == http.StatusForbidden {
				mu.Lock()
				refused++
				mu.Unlock()
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	})
	href := openQueueInBrowser(t, ctx, srv.URL+"/?token="+s.Token())
	target := srv.URL + href
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!DOCTYPE html><html><body>
<form id="f" method="post" action="%s"><input name="kind" value="link"><input name="reason" value="forged"><input name="analyst" value="mallory"></form>
<script>
fetch(%q, {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "application/x-www-form-urlencoded"},
  body: "kind=link&reason=forged&analyst=mallory"}).finally(function () { document.getElementById("f").submit(); });
</script></body></html>`, target, target)
	}))
	defer evil.Close()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(evil.URL),
		chromedp.WaitVisible(chromedp.CSS(`body`)),
	); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := refused
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other page's requests did not reach the review page with the cookie (%d refused): the test proves nothing", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	in, _, err := review.Open(stateDir).InForce()
	if err != nil || len(in) != 0 {
		t.Fatalf("a page on another port recorded a decision: %+v (%v)", in, err)
	}
}
