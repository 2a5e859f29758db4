package storagetest

import (
	"encoding/base64"
	"slices"

	"github.com/skiffhq/skiff/internal/storage"
)

func listCases() []contractCase {
	return []contractCase{
		{name: "list is sorted and scoped", run: testListSorted},
		{name: "list of empty prefix", run: testListEmpty},
		{name: "list of a single key", run: testListSingleKey},
		{name: "list at exact revision", run: testListExact},
		{name: "list revision matching", run: testListMatching},
		{name: "paginate at a fixed revision", run: testPaginate},
		{name: "invalid continue token", run: testInvalidContinue},
	}
}

// keysOf returns the keys of items, in order.
func keysOf(items []storage.KeyValue) []string {
	keys := make([]string, 0, len(items))
	for _, kv := range items {
		keys = append(keys, kv.Key)
	}
	return keys
}

func (e *env) list(prefix string, opts storage.ListOptions) storage.ListResult {
	e.t.Helper()
	res, err := e.s.List(e.ctx, prefix, opts)
	if err != nil {
		e.t.Fatalf("List(%s, %+v): %v", prefix, opts, err)
	}
	return res
}

func testListSorted(e *env) {
	revs := map[string]int64{}
	for _, name := range []string{"things/c", "things/a", "things/b"} {
		revs[e.key(name)] = e.create(e.key(name), "value-"+name)
	}
	e.create(e.key("things2/x"), "sibling prefix, not listed")
	e.create(e.key("thing"), "shorter key, not listed")
	last := e.create(e.key("other/y"), "other prefix, not listed")

	res := e.list(e.key("things/"), storage.ListOptions{})
	want := []string{e.key("things/a"), e.key("things/b"), e.key("things/c")}
	if got := keysOf(res.Items); !slices.Equal(got, want) {
		e.t.Fatalf("List keys = %v, want %v", got, want)
	}
	for _, kv := range res.Items {
		if kv.Revision != revs[kv.Key] || string(kv.Value) != "value-"+kv.Key[len(e.prefix):] {
			e.t.Fatalf("item %s = %q @%d, want %q @%d", kv.Key, kv.Value, kv.Revision, "value-"+kv.Key[len(e.prefix):], revs[kv.Key])
		}
	}
	if res.Revision < last {
		e.t.Fatalf("List revision %d, want >= %d (latest write)", res.Revision, last)
	}
	if res.Continue != "" {
		e.t.Fatalf("List without limit returned continue %q", res.Continue)
	}
}

func testListEmpty(e *env) {
	res := e.list(e.key("nothing/"), storage.ListOptions{})
	if len(res.Items) != 0 || res.Revision <= 0 {
		e.t.Fatalf("List of empty prefix = %d items @%d, want none at a positive revision", len(res.Items), res.Revision)
	}
}

func testListSingleKey(e *env) {
	rev := e.create(e.key("web"), "v")
	e.create(e.key("web-0"), "shares the key as a string prefix")
	e.create(e.key("web/child"), "below the key")
	res := e.list(e.key("web"), storage.ListOptions{})
	if len(res.Items) != 1 || res.Items[0].Key != e.key("web") || res.Items[0].Revision != rev {
		e.t.Fatalf("List(%s) = %v, want only that key @%d", e.key("web"), keysOf(res.Items), rev)
	}
	res = e.list(e.key("missing"), storage.ListOptions{})
	if len(res.Items) != 0 {
		e.t.Fatalf("List of a missing key = %v, want none", keysOf(res.Items))
	}
}

func testListExact(e *env) {
	first := e.create(e.key("a"), "v1")
	e.update(e.key("a"), "v2", first)
	e.create(e.key("b"), "v1")

	res := e.list(e.prefix, storage.ListOptions{Match: storage.MatchExact, Revision: first})
	if len(res.Items) != 1 || res.Items[0].Key != e.key("a") || string(res.Items[0].Value) != "v1" || res.Revision != first {
		e.t.Fatalf("List at %d = %v @%d, want only a=v1 @%d", first, res.Items, res.Revision, first)
	}
}

func testListMatching(e *env) {
	rev := e.create(e.key("a"), "v1")
	tests := []struct {
		name      string
		opts      storage.ListOptions
		wantErr   error
		wantItems int
	}{
		{name: "latest", opts: storage.ListOptions{Match: storage.MatchLatest}, wantItems: 1},
		{name: "not older than zero", opts: storage.ListOptions{Match: storage.MatchNotOlderThan}, wantItems: -1},
		{name: "not older than last write", opts: storage.ListOptions{Match: storage.MatchNotOlderThan, Revision: rev}, wantItems: 1},
		{name: "not older than the future", opts: storage.ListOptions{Match: storage.MatchNotOlderThan, Revision: rev + 1000}, wantErr: storage.ErrTooLargeRevision},
		{name: "exact future revision", opts: storage.ListOptions{Match: storage.MatchExact, Revision: rev + 1000}, wantErr: storage.ErrTooLargeRevision},
	}
	for _, tc := range tests {
		e.run(tc.name, func(e *env) {
			res, err := e.s.List(e.ctx, e.prefix, tc.opts)
			wantErr(e.t, "List", err, tc.wantErr)
			if tc.wantErr != nil {
				return
			}
			if tc.opts.Revision > 0 && res.Revision < tc.opts.Revision {
				e.t.Fatalf("List revision %d, want >= %d", res.Revision, tc.opts.Revision)
			}
			// -1: a cache may serve data older than the write.
			if tc.wantItems >= 0 && len(res.Items) != tc.wantItems {
				e.t.Fatalf("List returned %d items, want %d", len(res.Items), tc.wantItems)
			}
		})
	}
}

func testPaginate(e *env) {
	for _, name := range []string{"a1", "a2", "a3", "a4", "a5"} {
		e.create(e.key(name), name)
	}
	page1 := e.list(e.prefix, storage.ListOptions{Limit: 2})
	wantPage(e, "page 1", page1, []string{"a1", "a2"}, 3)

	// Written after page 1: invisible to later pages, which read at page 1's revision.
	e.create(e.key("a2x"), "late")
	e.create(e.key("a6"), "late")
	e.update(e.key("a3"), "changed", 0)

	page2 := e.list(e.prefix, storage.ListOptions{Limit: 2, Continue: page1.Continue})
	wantPage(e, "page 2", page2, []string{"a3", "a4"}, 1)
	if string(page2.Items[0].Value) != "a3" {
		e.t.Fatalf("page 2 a3 = %q, want the value at page 1's revision %q", page2.Items[0].Value, "a3")
	}
	page3 := e.list(e.prefix, storage.ListOptions{Limit: 2, Continue: page2.Continue})
	wantPage(e, "page 3", page3, []string{"a5"}, 0)
	for _, p := range []storage.ListResult{page2, page3} {
		if p.Revision != page1.Revision {
			e.t.Fatalf("later page revision %d, want page 1's %d", p.Revision, page1.Revision)
		}
	}
	fresh := e.list(e.prefix, storage.ListOptions{})
	if len(fresh.Items) != 7 {
		e.t.Fatalf("fresh list has %d items, want 7", len(fresh.Items))
	}
}

// wantPage checks a page's keys (relative to the case prefix), whether it
// continues, and its remaining count when it does.
func wantPage(e *env, what string, page storage.ListResult, want []string, remaining int64) {
	e.t.Helper()
	var got []string
	for _, k := range keysOf(page.Items) {
		got = append(got, k[len(e.prefix):])
	}
	if !slices.Equal(got, want) {
		e.t.Fatalf("%s keys = %v, want %v", what, got, want)
	}
	if (page.Continue != "") != (remaining > 0) {
		e.t.Fatalf("%s continue = %q with %d remaining", what, page.Continue, remaining)
	}
	if remaining > 0 && page.RemainingCount != nil && *page.RemainingCount != remaining {
		e.t.Fatalf("%s remaining count = %d, want %d", what, *page.RemainingCount, remaining)
	}
}

func testInvalidContinue(e *env) {
	e.create(e.key("a"), "v")
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name  string
		token string
	}{
		{name: "not base64", token: "!!!not-base64!!!"},
		{name: "not json", token: enc([]byte("not json"))},
		{name: "wrong version", token: enc([]byte(`{"v":"other/v9","rv":5,"start":"a"}`))},
		{name: "no revision", token: enc([]byte(`{"v":"meta.k8s.io/v1","start":"a"}`))},
		{name: "no start key", token: enc([]byte(`{"v":"meta.k8s.io/v1","rv":5}`))},
	}
	for _, tc := range tests {
		e.run(tc.name, func(e *env) {
			_, err := e.s.List(e.ctx, e.prefix, storage.ListOptions{Limit: 1, Continue: tc.token})
			wantErr(e.t, "List", err, storage.ErrInvalidContinue)
		})
	}
	e.run("token with a revision", func(e *env) {
		e.create(e.key("b"), "v")
		page := e.list(e.prefix, storage.ListOptions{Limit: 1})
		if page.Continue == "" {
			e.t.Fatal("first page of two has no continue token")
		}
		_, err := e.s.List(e.ctx, e.prefix, storage.ListOptions{Limit: 1, Continue: page.Continue, Match: storage.MatchExact, Revision: page.Revision})
		if err == nil {
			e.t.Fatal("List with both a continue token and a revision succeeded, want it refused")
		}
	})
}
