package images_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"runtime"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/internal/agent/images"
)

// layout is an OCI image layout tarball read back into memory.
type layout struct {
	files map[string][]byte
}

func readLayout(t *testing.T, data []byte) layout {
	t.Helper()
	l := layout{files: map[string][]byte{}}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return l
		}
		if err != nil {
			t.Fatalf("read layout: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read layout entry %s: %v", hdr.Name, err)
		}
		l.files[hdr.Name] = b
	}
}

// blob returns the blob with digest d, checking that its content matches.
func (l layout) blob(t *testing.T, d string) []byte {
	t.Helper()
	b, ok := l.files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
	if !ok {
		t.Fatalf("blob %s missing from layout", d)
	}
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != d {
		t.Fatalf("blob %s has digest %s", d, got)
	}
	return b
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	} `json:"platform"`
}

type layerEntry struct {
	typeflag byte
	mode     int64
	link     string
	data     string
	uid, gid int
}

// image is what a container runtime reads from a built image.
type image struct {
	index    descriptor
	config   map[string]any
	runtime  map[string]any
	diffIDs  []any
	entries  map[string]layerEntry
	ordering []string
}

func readImage(t *testing.T, data []byte) image {
	t.Helper()
	l := readLayout(t, data)
	if got := string(l.files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout = %q", got)
	}
	var idx struct {
		SchemaVersion int          `json:"schemaVersion"`
		Manifests     []descriptor `json:"manifests"`
	}
	mustUnmarshal(t, l.files["index.json"], &idx)
	if idx.SchemaVersion != 2 || len(idx.Manifests) != 1 {
		t.Fatalf("index.json = %s", l.files["index.json"])
	}
	var m struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	mustUnmarshal(t, l.blob(t, idx.Manifests[0].Digest), &m)
	if len(m.Layers) != 1 || m.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Fatalf("manifest layers = %+v", m.Layers)
	}
	img := image{index: idx.Manifests[0], entries: map[string]layerEntry{}}
	mustUnmarshal(t, l.blob(t, m.Config.Digest), &img.config)
	img.runtime, _ = img.config["config"].(map[string]any)
	img.diffIDs, _ = img.config["rootfs"].(map[string]any)["diff_ids"].([]any)

	zr, err := gzip.NewReader(bytes.NewReader(l.blob(t, m.Layers[0].Digest)))
	if err != nil {
		t.Fatalf("layer is not gzip: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("read layer: %v", err)
	}
	sum := sha256.Sum256(raw)
	if len(img.diffIDs) != 1 || img.diffIDs[0] != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("diff_ids = %v, want the uncompressed layer's digest", img.diffIDs)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read layer: %v", err)
		}
		b, _ := io.ReadAll(tr)
		name := strings.TrimSuffix(hdr.Name, "/")
		img.entries[name] = layerEntry{typeflag: hdr.Typeflag, mode: hdr.Mode, link: hdr.Linkname, data: string(b), uid: hdr.Uid, gid: hdr.Gid}
		img.ordering = append(img.ordering, name)
	}
	return img
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func TestBuildWritesARunnableOCILayout(t *testing.T) {
	files := []images.File{
		{Path: "/app/bin/server", Mode: 0o755, Data: []byte("#!/bin/sh\necho hi\n")},
		{Path: "/etc/motd", Mode: 0o644, Data: []byte("hello"), UID: 1000, GID: 1001},
		{Path: "/bin/serve", Mode: fs.ModeSymlink | 0o777, Link: "/app/bin/server"},
		{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{Path: "/usr/bin/sudo", Mode: fs.ModeSetuid | 0o755, Data: []byte("x")},
	}
	config := images.ImageConfig{
		Entrypoint: []string{"/bin/serve"},
		Cmd:        []string{"--port", "80"},
		Env:        []string{"PATH=/bin", "MODE=test"},
		WorkingDir: "/app",
		User:       "1000:1001",
	}
	var buf bytes.Buffer
	if err := images.Build(&buf, "example.com/team/app:v1", files, config); err != nil {
		t.Fatalf("Build: %v", err)
	}
	img := readImage(t, buf.Bytes())

	if got, want := img.index.Annotations["io.containerd.image.name"], "example.com/team/app:v1"; got != want {
		t.Errorf("io.containerd.image.name = %q, want %q", got, want)
	}
	if got, want := img.index.Annotations["org.opencontainers.image.ref.name"], "v1"; got != want {
		t.Errorf("org.opencontainers.image.ref.name = %q, want %q", got, want)
	}
	if img.index.Platform == nil || img.index.Platform.Architecture != runtime.GOARCH || img.index.Platform.OS != "linux" {
		t.Errorf("index platform = %+v, want linux/%s", img.index.Platform, runtime.GOARCH)
	}
	if img.config["architecture"] != runtime.GOARCH || img.config["os"] != "linux" {
		t.Errorf("config platform = %v/%v", img.config["os"], img.config["architecture"])
	}
	wantRuntime := map[string]string{
		"Entrypoint": `["/bin/serve"]`,
		"Cmd":        `["--port","80"]`,
		"Env":        `["PATH=/bin","MODE=test"]`,
		"WorkingDir": `"/app"`,
		"User":       `"1000:1001"`,
	}
	for key, want := range wantRuntime {
		got, _ := json.Marshal(img.runtime[key])
		if string(got) != want {
			t.Errorf("config.%s = %s, want %s", key, got, want)
		}
	}

	wantEntries := map[string]layerEntry{
		"app":            {typeflag: tar.TypeDir, mode: 0o755},
		"app/bin":        {typeflag: tar.TypeDir, mode: 0o755},
		"app/bin/server": {typeflag: tar.TypeReg, mode: 0o755, data: "#!/bin/sh\necho hi\n"},
		"bin":            {typeflag: tar.TypeDir, mode: 0o755},
		"bin/serve":      {typeflag: tar.TypeSymlink, mode: 0o777, link: "/app/bin/server"},
		"etc":            {typeflag: tar.TypeDir, mode: 0o755},
		"etc/motd":       {typeflag: tar.TypeReg, mode: 0o644, data: "hello", uid: 1000, gid: 1001},
		"tmp":            {typeflag: tar.TypeDir, mode: 0o1777},
		"usr":            {typeflag: tar.TypeDir, mode: 0o755},
		"usr/bin":        {typeflag: tar.TypeDir, mode: 0o755},
		"usr/bin/sudo":   {typeflag: tar.TypeReg, mode: 0o4755, data: "x"},
	}
	if len(img.entries) != len(wantEntries) {
		t.Errorf("layer has %d entries %v, want %d", len(img.entries), img.ordering, len(wantEntries))
	}
	for name, want := range wantEntries {
		if got, ok := img.entries[name]; !ok || got != want {
			t.Errorf("layer entry %s = %+v (present %v), want %+v", name, got, ok, want)
		}
	}
	for i := 1; i < len(img.ordering); i++ {
		if img.ordering[i-1] >= img.ordering[i] {
			t.Errorf("layer entries not sorted: %q before %q", img.ordering[i-1], img.ordering[i])
		}
	}

	var again bytes.Buffer
	if err := images.Build(&again, "example.com/team/app:v1", files, config); err != nil {
		t.Fatalf("Build again: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two builds of the same image differ; builds must be reproducible")
	}
}

func TestBuildRefusesInvalidFiles(t *testing.T) {
	tests := []struct {
		name  string
		files []images.File
	}{
		{"relative path", []images.File{{Path: "etc/passwd", Mode: 0o644}}},
		{"parent reference", []images.File{{Path: "/etc/../../passwd", Mode: 0o644}}},
		{"root itself", []images.File{{Path: "/", Mode: fs.ModeDir | 0o755}}},
		{"listed twice", []images.File{{Path: "/a", Mode: 0o644}, {Path: "/a/", Mode: 0o644}}},
		{"symlink without target", []images.File{{Path: "/a", Mode: fs.ModeSymlink | 0o777}}},
		{"device node", []images.File{{Path: "/dev/null", Mode: fs.ModeDevice | 0o666}}},
		{"file inside a file", []images.File{{Path: "/a", Mode: 0o644}, {Path: "/a/b", Mode: 0o644}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := images.Build(io.Discard, "skiff.local/bad:1", tc.files, images.ImageConfig{})
			if !errors.Is(err, images.ErrInvalidFile) {
				t.Fatalf("Build = %v, want ErrInvalidFile", err)
			}
		})
	}
}

func TestNormalizeRef(t *testing.T) {
	tests := []struct {
		ref               string
		wantName, wantTag string
		wantErr           bool
	}{
		{ref: "busybox", wantName: "docker.io/library/busybox", wantTag: "latest"},
		{ref: "busybox:1.36", wantName: "docker.io/library/busybox", wantTag: "1.36"},
		{ref: "team/app:v2", wantName: "docker.io/team/app", wantTag: "v2"},
		{ref: "skiff.local/pause:3.10", wantName: "skiff.local/pause", wantTag: "3.10"},
		{ref: "localhost/app", wantName: "localhost/app", wantTag: "latest"},
		{ref: "registry:5000/app", wantName: "registry:5000/app", wantTag: "latest"},
		{ref: "registry:5000/app:v1", wantName: "registry:5000/app", wantTag: "v1"},
		{ref: "", wantErr: true},
		{ref: "app@sha256:abcd", wantErr: true},
		{ref: "App:v1", wantErr: true},
		{ref: "app:", wantErr: true},
		{ref: "/app", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			name, tag, err := images.NormalizeRef(tc.ref)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NormalizeRef(%q) = %q, %q; want an error", tc.ref, name, tag)
				}
				return
			}
			if err != nil || name != tc.wantName || tag != tc.wantTag {
				t.Fatalf("NormalizeRef(%q) = %q, %q, %v; want %q, %q", tc.ref, name, tag, err, tc.wantName, tc.wantTag)
			}
		})
	}
}
