//go:build !unix

package scheduling

import "time"

// processCPU is not measured on this platform.
func processCPU() time.Duration { return 0 }
