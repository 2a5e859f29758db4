package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Media types and annotations of the OCI image spec and containerd.
const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayerGz  = "application/vnd.oci.image.layer.v1.tar+gzip"

	// annotationRefName is the OCI annotation naming a manifest in an
	// index.json; by convention it holds the tag only.
	annotationRefName = "org.opencontainers.image.ref.name"
	// annotationImageName is containerd's annotation holding the full image
	// name; `ctr images import` names the image after it.
	annotationImageName = "io.containerd.image.name"
)

// ErrInvalidFile is returned by Build for a File it cannot place in a layer.
var ErrInvalidFile = errors.New("images: invalid file")

// epoch is the modification time of every file and of the image itself, so
// builds are reproducible.
var epoch = time.Unix(0, 0).UTC()

// File is one entry of an image's filesystem.
type File struct {
	// Path is the absolute path inside the image, e.g. "/bin/sh".
	Path string
	// Mode holds the permission bits (and setuid/setgid/sticky) plus
	// fs.ModeDir for a directory or fs.ModeSymlink for a symbolic link; no
	// type bit means a regular file.
	Mode fs.FileMode
	// Data is the content of a regular file.
	Data []byte
	// Link is the target of a symbolic link.
	Link string
	// UID and GID own the entry.
	UID, GID int
}

// HostFile reads the regular file src from the host into a File at dst inside
// the image, keeping its permission bits.
func HostFile(src, dst string) (File, error) {
	info, err := os.Stat(src)
	if err != nil {
		return File{}, fmt.Errorf("read host file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return File{}, fmt.Errorf("host file %s: %w: not a regular file", src, ErrInvalidFile)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return File{}, fmt.Errorf("read host file: %w", err)
	}
	return File{Path: dst, Mode: info.Mode().Perm() | info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), Data: data}, nil
}

// ImageConfig is the part of an OCI image configuration a container runtime
// uses to start a container.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	// Env holds "NAME=value" entries.
	Env        []string
	WorkingDir string
	// User is "uid", "uid:gid", "name" or "name:group".
	User       string
	Labels     map[string]string
	StopSignal string
}

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

// imageSpec is the OCI image configuration document.
type imageSpec struct {
	Created      time.Time     `json:"created"`
	Architecture string        `json:"architecture"`
	Variant      string        `json:"variant,omitempty"`
	OS           string        `json:"os"`
	Config       runtimeConfig `json:"config"`
	RootFS       rootFS        `json:"rootfs"`
	History      []history     `json:"history,omitempty"`
}

type runtimeConfig struct {
	User       string            `json:"User,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
	StopSignal string            `json:"StopSignal,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type history struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Build writes an OCI image layout tarball to w holding one image named ref
// for this machine's platform: a single gzip layer with files, and config.
// `ctr images import` (see Import) names the image ref. The image is put
// together in memory: Build is meant for small images (tools, test programs).
func Build(w io.Writer, ref string, files []File, config ImageConfig) error {
	name, tag, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	layerTar, err := layer(files)
	if err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	var layerGz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&layerGz, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	if _, err := zw.Write(layerTar); err != nil {
		return fmt.Errorf("build %s: compress layer: %w", ref, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("build %s: compress layer: %w", ref, err)
	}

	plat := hostPlatform()
	configBlob, err := json.Marshal(imageSpec{
		Created:      epoch,
		Architecture: plat.Architecture,
		Variant:      plat.Variant,
		OS:           plat.OS,
		Config: runtimeConfig{
			User:       config.User,
			Env:        config.Env,
			Entrypoint: config.Entrypoint,
			Cmd:        config.Cmd,
			WorkingDir: config.WorkingDir,
			Labels:     config.Labels,
			StopSignal: config.StopSignal,
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{digest(layerTar)}},
		History: []history{{Created: epoch, CreatedBy: "skiff images.Build"}},
	})
	if err != nil {
		return fmt.Errorf("build %s: encode config: %w", ref, err)
	}
	layerDesc := descriptor{MediaType: mediaTypeLayerGz, Digest: digest(layerGz.Bytes()), Size: int64(layerGz.Len())}
	configDesc := descriptor{MediaType: mediaTypeConfig, Digest: digest(configBlob), Size: int64(len(configBlob))}
	manifestBlob, err := json.Marshal(manifest{
		SchemaVersion: 2,
		MediaType:     mediaTypeManifest,
		Config:        configDesc,
		Layers:        []descriptor{layerDesc},
	})
	if err != nil {
		return fmt.Errorf("build %s: encode manifest: %w", ref, err)
	}
	indexBlob, err := json.Marshal(index{
		SchemaVersion: 2,
		MediaType:     mediaTypeIndex,
		Manifests: []descriptor{{
			MediaType: mediaTypeManifest,
			Digest:    digest(manifestBlob),
			Size:      int64(len(manifestBlob)),
			Annotations: map[string]string{
				annotationImageName: name + ":" + tag,
				annotationRefName:   tag,
			},
			Platform: &plat,
		}},
	})
	if err != nil {
		return fmt.Errorf("build %s: encode index: %w", ref, err)
	}

	tw := tar.NewWriter(w)
	entries := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", indexBlob},
		{blobPath(manifestBlob), manifestBlob},
		{blobPath(configBlob), configBlob},
		{blobPath(layerGz.Bytes()), layerGz.Bytes()},
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}); err != nil {
			return fmt.Errorf("build %s: write archive: %w", ref, err)
		}
	}
	for _, e := range entries {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("build %s: write archive: %w", ref, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("build %s: write archive: %w", ref, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("build %s: write archive: %w", ref, err)
	}
	return nil
}

// layer returns the uncompressed layer tar holding files, sorted by path,
// with any missing parent directory added (mode 0755, owned by root).
func layer(files []File) ([]byte, error) {
	byPath := map[string]File{}
	for _, f := range files {
		p, err := cleanPath(f.Path)
		if err != nil {
			return nil, err
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("%w: %s listed twice", ErrInvalidFile, f.Path)
		}
		switch {
		case f.Mode&fs.ModeSymlink != 0:
			if f.Link == "" {
				return nil, fmt.Errorf("%w: symlink %s has no target", ErrInvalidFile, f.Path)
			}
		case f.Mode.IsDir(), f.Mode.IsRegular():
		default:
			return nil, fmt.Errorf("%w: %s has unsupported type %v", ErrInvalidFile, f.Path, f.Mode.Type())
		}
		f.Path = p
		byPath[p] = f
	}
	for p := range byPath {
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if parent, ok := byPath[dir]; ok {
				if !parent.Mode.IsDir() {
					return nil, fmt.Errorf("%w: %s is inside %s, which is not a directory", ErrInvalidFile, p, dir)
				}
				continue
			}
			byPath[dir] = File{Path: dir, Mode: fs.ModeDir | 0o755}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := byPath[p]
		hdr := &tar.Header{
			Name:    p,
			Mode:    tarMode(f.Mode),
			Uid:     f.UID,
			Gid:     f.GID,
			ModTime: epoch,
			Format:  tar.FormatPAX,
		}
		switch {
		case f.Mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
		case f.Mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, p+"/"
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", p, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, fmt.Errorf("write layer entry %s: %w", p, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return buf.Bytes(), nil
}

// cleanPath turns an absolute image path into the relative form tar entries
// use ("/bin/sh" → "bin/sh"), refusing paths that leave the root.
func cleanPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: path %q is not absolute", ErrInvalidFile, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: path %q contains ..", ErrInvalidFile, p)
		}
	}
	clean := strings.TrimPrefix(path.Clean(p), "/")
	if clean == "" {
		return "", fmt.Errorf("%w: path %q is the root", ErrInvalidFile, p)
	}
	return clean, nil
}

// tarMode converts permission and special bits to the Unix mode tar stores.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// hostPlatform is the OCI platform of the running binary.
func hostPlatform() platform {
	p := platform{Architecture: runtime.GOARCH, OS: "linux"}
	switch runtime.GOARCH {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(b []byte) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest(b), "sha256:")
}

// NormalizeRef splits ref into a fully qualified repository name and a tag,
// the way Docker and CRI read short names: "busybox" is
// "docker.io/library/busybox" tagged "latest". Digest references are refused:
// a built image has no digest until it is built.
func NormalizeRef(ref string) (name, tag string, err error) {
	if strings.ContainsAny(ref, " \t\n@") {
		return "", "", fmt.Errorf("images: invalid image reference %q", ref)
	}
	name, tag = ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	if name == "" || tag == "" || name != strings.ToLower(name) ||
		strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return "", "", fmt.Errorf("images: invalid image reference %q", ref)
	}
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		if !hasSlash {
			name = "library/" + name
		}
		name = "docker.io/" + name
	}
	return name, tag, nil
}
