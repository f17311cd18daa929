package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/selondon/carematch/review"
)

// The review page driven in headless Chromium, as an analyst would: open the
// queue with the token, open the first item, press n, and the decision is in
// the state. .ci/run installs Debian's chromium and sets
// CAREMATCH_REQUIRE_CHROMIUM, so CI cannot skip this.
func TestReviewPageInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CAREMATCH_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is required here and not installed")
		}
		t.Skip("no chromium on this machine (.ci/run installs it)")
	}
	_, cfg := publishedFixture(t)
	s, err := newReviewServer(cfg, "ann")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s) // listens on 127.0.0.1
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/?token="+s.token),
		chromedp.WaitVisible(chromedp.CSS(`table a`)),
	); err != nil {
		t.Fatal(err)
	}
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`table a`), "href"))
	if err != nil {
		t.Fatal(err)
	}
	firstItem := href.Value
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`table a`)),
		chromedp.WaitVisible(chromedp.CSS(`#decide`)),
		chromedp.KeyEvent("n"),
		chromedp.WaitVisible(chromedp.CSS(`#decided`)),
	); err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#decided`)))
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := review.Open(cfg.Run.StateDir).InForce()
	if err != nil || len(in) != 1 || in[0].Kind != review.NoLink || in[0].Analyst != "ann" {
		t.Fatalf("decision in the state: %+v (%v)", in, err)
	}
	if !strings.Contains(after, in[0].ID) || review.ItemID(in[0].Left, *in[0].Right) != strings.TrimPrefix(firstItem, "/item/") {
		t.Errorf("page said %q after deciding %s; state has %+v", after, firstItem, in[0])
	}
}
