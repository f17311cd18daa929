//go:build !linux

package store

import (
	"errors"
	"os"
)

// startWriteOut cannot be asked for here: the file is written as any other.
func startWriteOut(*os.File, int64, int64) error { return errNoWriteBehind }

// writeOutAndDrop cannot be asked for here.
func writeOutAndDrop(*os.File, int64, int64) error { return errNoWriteBehind }

var errNoWriteBehind = errors.New("no write-behind on this system")
