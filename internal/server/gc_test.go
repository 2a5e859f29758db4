package server

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		wantPercent      int
		wantLimitChanged bool
	}{
		{name: "defaults", wantPercent: serverGCPercent, wantLimitChanged: physicalMemory() > 0},
		{name: "GOGC chosen by the operator", env: map[string]string{"GOGC": "50"}, wantPercent: 100, wantLimitChanged: physicalMemory() > 0},
		{name: "GOMEMLIMIT chosen by the operator", env: map[string]string{"GOMEMLIMIT": "1GiB"}, wantPercent: serverGCPercent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The settings are the process's: start from Go's defaults, and
			// restore them afterwards.
			prevPercent := debug.SetGCPercent(100)
			prevLimit := debug.SetMemoryLimit(math.MaxInt64)
			defer func() {
				debug.SetGCPercent(prevPercent)
				debug.SetMemoryLimit(prevLimit)
			}()
			TuneGC(func(k string) string { return tc.env[k] })
			if got := debug.SetGCPercent(100); got != tc.wantPercent {
				t.Errorf("GC percent = %d, want %d", got, tc.wantPercent)
			}
			limit := debug.SetMemoryLimit(-1) // a negative value only reads it
			if changed := limit != math.MaxInt64; changed != tc.wantLimitChanged {
				t.Errorf("memory limit = %d, want changed: %v", limit, tc.wantLimitChanged)
			}
			if tc.wantLimitChanged && uint64(limit) != physicalMemory()/memoryLimitOfPhysical {
				t.Errorf("memory limit = %d, want half of %d", limit, physicalMemory())
			}
		})
	}
}
