package testserver

import (
	"net/url"
	"strconv"
)

// portOf returns the port of a server URL.
func portOf(raw string) (int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Port())
}
