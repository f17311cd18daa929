package linkage

import "database/sql/driver"

func toDriver(xs []any) []driver.Value {
	out := make([]driver.Value, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
