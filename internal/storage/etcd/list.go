package etcd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiffhq/skiff/internal/storage"
)

// continueAPIVersion marks the continue token format, as Kubernetes does.
const continueAPIVersion = "meta.k8s.io/v1"

// continueToken is the decoded form of ListResult.Continue: the revision the
// list is pinned to and the next key, relative to the listed prefix.
type continueToken struct {
	APIVersion string `json:"v"`
	Revision   int64  `json:"rv"`
	StartKey   string `json:"start"`
}

// encodeContinue builds the token that resumes a list of prefix at nextKey,
// reading at rev.
func encodeContinue(prefix, nextKey string, rev int64) (string, error) {
	raw, err := json.Marshal(continueToken{
		APIVersion: continueAPIVersion,
		Revision:   rev,
		StartKey:   nextKey[len(prefix):],
	})
	if err != nil {
		return "", fmt.Errorf("encode continue token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// decodeContinue returns the absolute key and revision a token resumes at.
func decodeContinue(prefix, token string) (string, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, fmt.Errorf("%w: not base64: %v", storage.ErrInvalidContinue, err)
	}
	var tok continueToken
	if err := json.Unmarshal(raw, &tok); err != nil {
		return "", 0, fmt.Errorf("%w: not JSON: %v", storage.ErrInvalidContinue, err)
	}
	switch {
	case tok.APIVersion != continueAPIVersion:
		return "", 0, fmt.Errorf("%w: version %q, want %q", storage.ErrInvalidContinue, tok.APIVersion, continueAPIVersion)
	case tok.Revision <= 0:
		return "", 0, fmt.Errorf("%w: revision %d", storage.ErrInvalidContinue, tok.Revision)
	case tok.StartKey == "":
		return "", 0, fmt.Errorf("%w: empty start key", storage.ErrInvalidContinue)
	}
	return prefix + tok.StartKey, tok.Revision, nil
}

// List returns values under prefix (or the single key prefix when it has no
// trailing "/"), sorted by key. A Continue token fixes the revision and
// start key, so Revision must then be 0.
func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	defer s.metrics.observe("list", prefix, time.Now())
	if prefix == "" {
		return storage.ListResult{}, errors.New("list: empty prefix")
	}
	if opts.Limit < 0 {
		return storage.ListResult{}, fmt.Errorf("list %s: negative limit %d", prefix, opts.Limit)
	}
	if opts.Continue != "" && opts.Revision != 0 {
		return storage.ListResult{}, fmt.Errorf("list %s: a continue token fixes the revision, got revision %d too", prefix, opts.Revision)
	}
	startKey, readRev, err := listStart(prefix, opts)
	if err != nil {
		return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
	}
	getOpts := []clientv3.OpOption{clientv3.WithRange(rangeEnd(prefix))}
	if readRev > 0 {
		getOpts = append(getOpts, clientv3.WithRev(readRev))
	}
	if opts.Limit > 0 {
		getOpts = append(getOpts, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, startKey, getOpts...)
	if err != nil {
		return storage.ListResult{}, fmt.Errorf("list %s at revision %d: %w", prefix, readRev, mapError(err))
	}
	if readRev == 0 {
		readRev = resp.Header.Revision
	}
	if opts.Continue == "" && opts.Match == storage.MatchNotOlderThan && opts.Revision > readRev {
		return storage.ListResult{}, fmt.Errorf("list %s: revision %d, store is at %d: %w",
			prefix, opts.Revision, readRev, storage.ErrTooLargeRevision)
	}
	result := storage.ListResult{Revision: readRev, Items: make([]storage.KeyValue, 0, len(resp.Kvs))}
	for _, kv := range resp.Kvs {
		result.Items = append(result.Items, storage.KeyValue{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision})
	}
	if resp.More && len(resp.Kvs) > 0 {
		next := string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		if result.Continue, err = encodeContinue(prefix, next, readRev); err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		remaining := resp.Count - int64(len(resp.Kvs))
		result.RemainingCount = &remaining
	}
	return result, nil
}

// rangeEnd is the end of the key range of prefix: the keys under it when it
// ends in "/", else the key itself.
func rangeEnd(prefix string) string {
	if strings.HasSuffix(prefix, "/") {
		return clientv3.GetPrefixRangeEnd(prefix)
	}
	return prefix + "\x00"
}

// listStart returns the first key to read and the revision to read at (0 =
// latest) for opts.
func listStart(prefix string, opts storage.ListOptions) (string, int64, error) {
	if opts.Continue != "" {
		return decodeContinue(prefix, opts.Continue)
	}
	switch opts.Match {
	case storage.MatchLatest, storage.MatchNotOlderThan:
		return prefix, 0, nil
	case storage.MatchExact:
		if opts.Revision <= 0 {
			return "", 0, fmt.Errorf("exact match needs a revision, got %d", opts.Revision)
		}
		return prefix, opts.Revision, nil
	default:
		return "", 0, fmt.Errorf("unknown match %d", opts.Match)
	}
}
