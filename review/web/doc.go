// Package web is the analysts' review page: a small HTTP server on
// 127.0.0.1 that lists the current publication's review queue, shows an
// item's two records side by side with the evidence, and records decisions
// in the same log as the command line (review.Log).
//
// It owns the page's security (see Server) and its templates (embedded
// from templates/). What it shows comes through Options: the queue, an
// item's evidence and the fingerprinting of a decision's records are
// supplied by the caller (cmd/carematch), so the page knows nothing of the
// database or the model.
package web
