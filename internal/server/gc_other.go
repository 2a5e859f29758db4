//go:build !linux

package server

// physicalMemory is unknown here: no soft memory limit is set.
func physicalMemory() uint64 { return 0 }
