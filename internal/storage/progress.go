package storage

import "errors"

// ErrProgressUnsupported means a backend cannot be asked for watch progress
// reliably (for example an etcd server that answers progress requests out of
// order with events). Callers then read from the backend instead of waiting
// for a progress notification.
var ErrProgressUnsupported = errors.New("storage: watch progress requests not supported")
