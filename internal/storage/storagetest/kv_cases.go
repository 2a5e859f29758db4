package storagetest

import (
	"github.com/skiffhq/skiff/internal/storage"
)

func kvCases() []contractCase {
	return []contractCase{
		{name: "create then get", run: testCreateGet},
		{name: "create existing key conflicts", run: testCreateExisting},
		{name: "get missing key", run: testGetMissing},
		{name: "update preconditions", run: testUpdatePreconditions},
		{name: "delete preconditions", run: testDeletePreconditions},
		{name: "current revision follows writes", run: testCurrentRevision},
	}
}

func testCreateGet(e *env) {
	rev := e.create(e.key("a"), "v1")
	if rev <= 0 {
		e.t.Fatalf("Create revision = %d, want > 0", rev)
	}
	kv, err := e.s.Get(e.ctx, e.key("a"))
	wantErr(e.t, "Get", err, nil)
	if kv.Key != e.key("a") || string(kv.Value) != "v1" || kv.Revision != rev {
		e.t.Fatalf("Get = %s %q @%d, want %s %q @%d", kv.Key, kv.Value, kv.Revision, e.key("a"), "v1", rev)
	}
}

func testCreateExisting(e *env) {
	rev := e.create(e.key("a"), "v1")
	_, err := e.s.Create(e.ctx, e.key("a"), []byte("v2"))
	wantErr(e.t, "second Create", err, storage.ErrKeyExists)
	kv, err := e.s.Get(e.ctx, e.key("a"))
	wantErr(e.t, "Get", err, nil)
	if string(kv.Value) != "v1" || kv.Revision != rev {
		e.t.Fatalf("Get after failed Create = %q @%d, want %q @%d", kv.Value, kv.Revision, "v1", rev)
	}
}

func testGetMissing(e *env) {
	_, err := e.s.Get(e.ctx, e.key("missing"))
	wantErr(e.t, "Get", err, storage.ErrNotFound)
}

func testUpdatePreconditions(e *env) {
	tests := []struct {
		name string
		// revision picks the expected revision from the key's first and
		// current revisions.
		revision  func(first, current int64) int64
		missing   bool
		wantErr   error
		wantValue string
	}{
		{name: "current revision", revision: func(_, cur int64) int64 { return cur }, wantValue: "new"},
		{name: "stale revision", revision: func(first, _ int64) int64 { return first }, wantErr: storage.ErrConflict, wantValue: "v2"},
		{name: "any revision", revision: func(int64, int64) int64 { return 0 }, wantValue: "new"},
		{name: "missing key", revision: func(int64, int64) int64 { return 1 }, missing: true, wantErr: storage.ErrNotFound},
		{name: "missing key any revision", revision: func(int64, int64) int64 { return 0 }, missing: true, wantErr: storage.ErrNotFound},
	}
	for _, tc := range tests {
		e.run(tc.name, func(e *env) {
			key := e.key("update-" + tc.name)
			var first, cur int64
			if !tc.missing {
				first = e.create(key, "v1")
				cur = e.update(key, "v2", first)
				if cur <= first {
					e.t.Fatalf("Update revision %d, want > %d", cur, first)
				}
			}
			rev, err := e.s.Update(e.ctx, key, []byte("new"), tc.revision(first, cur))
			wantErr(e.t, "Update", err, tc.wantErr)
			kv, err := e.s.Get(e.ctx, key)
			if tc.missing {
				wantErr(e.t, "Get", err, storage.ErrNotFound)
				return
			}
			wantErr(e.t, "Get", err, nil)
			if string(kv.Value) != tc.wantValue {
				e.t.Fatalf("value %q, want %q", kv.Value, tc.wantValue)
			}
			if tc.wantErr == nil && (rev <= cur || kv.Revision != rev) {
				e.t.Fatalf("Update returned %d, Get says %d, want equal and > %d", rev, kv.Revision, cur)
			}
		})
	}
}

func testDeletePreconditions(e *env) {
	tests := []struct {
		name     string
		revision func(first, current int64) int64
		missing  bool
		wantErr  error
	}{
		{name: "current revision", revision: func(_, cur int64) int64 { return cur }},
		{name: "stale revision", revision: func(first, _ int64) int64 { return first }, wantErr: storage.ErrConflict},
		{name: "any revision", revision: func(int64, int64) int64 { return 0 }},
		{name: "missing key", revision: func(int64, int64) int64 { return 0 }, missing: true, wantErr: storage.ErrNotFound},
	}
	for _, tc := range tests {
		e.run(tc.name, func(e *env) {
			key := e.key("delete-" + tc.name)
			var first, cur int64
			if !tc.missing {
				first = e.create(key, "v1")
				cur = e.update(key, "v2", first)
			}
			kv, err := e.s.Delete(e.ctx, key, tc.revision(first, cur))
			wantErr(e.t, "Delete", err, tc.wantErr)
			_, getErr := e.s.Get(e.ctx, key)
			switch {
			case tc.wantErr == nil:
				if kv.Key != key || string(kv.Value) != "v2" || kv.Revision <= cur {
					e.t.Fatalf("Delete = %s %q @%d, want %s %q @>%d", kv.Key, kv.Value, kv.Revision, key, "v2", cur)
				}
				wantErr(e.t, "Get after Delete", getErr, storage.ErrNotFound)
			case tc.missing:
				wantErr(e.t, "Get", getErr, storage.ErrNotFound)
			default:
				wantErr(e.t, "Get after failed Delete", getErr, nil)
			}
		})
	}
}

func testCurrentRevision(e *env) {
	before, err := e.s.CurrentRevision(e.ctx)
	wantErr(e.t, "CurrentRevision", err, nil)
	rev := e.create(e.key("a"), "v1")
	after, err := e.s.CurrentRevision(e.ctx)
	wantErr(e.t, "CurrentRevision", err, nil)
	if rev <= before || after < rev {
		e.t.Fatalf("revisions before %d, create %d, after %d: want before < create <= after", before, rev, after)
	}
}
