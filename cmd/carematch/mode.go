package main

import (
	"context"
	"fmt"

	"github.com/selondon/carematch/publish"
	"github.com/selondon/carematch/store"
)

// Modes of a night, as the manifest's mode says.
const (
	modeFull        = "full"
	modeIncremental = "incremental"
)

// chooseMode decides whether tonight may build on last night's state, and
// says why not when it may not: the first reason that applies, in the
// order a person on call would look for it. An incremental night may still
// turn full in linkage (the model was not held, or last night's pairs
// cannot be carried), which then says why.
func (n *night) chooseMode(ctx context.Context) (mode, reason string, err error) {
	switch {
	case n.opt.Retrain:
		return modeFull, "asked: --retrain fits a new model", nil
	case n.opt.Full:
		return modeFull, "asked: --full", nil
	}
	prev := publish.PreviousState(n.cfg.Run.StateDir)
	if prev == "" {
		return modeFull, "the first night: there is no previous state", nil
	}
	info, err := n.db.ReadNightInfo(ctx, prev)
	if err != nil {
		return "", "", err
	}
	switch {
	case info == nil:
		return modeFull, "the previous night's state does not say how it was made", nil
	case info.ToolVersion != toolVersion():
		return modeFull, fmt.Sprintf("carematch changed since the previous night (%s, now %s)", info.ToolVersion, toolVersion()), nil
	case info.ConfigSHA256 != n.cfg.SHA256:
		return modeFull, "the configuration changed since the previous night", nil
	}
	return modeIncremental, "", nil
}

// nightInfo is what tonight records of itself for the next night.
func (n *night) nightInfo() store.NightInfo {
	return store.NightInfo{RunID: n.run.ID, ToolVersion: toolVersion(), ConfigSHA256: n.cfg.SHA256}
}
