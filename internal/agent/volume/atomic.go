package volume

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The atomic writer's layout inside a volume directory, as the kubelet's:
//
//	..2025_01_02_15_04_05.123456789/   one timestamped directory per payload
//	..data -> ..2025_01_02_15_04_05…   swapped with one rename
//	key -> ..data/key                  what the container sees
//
// A reader inside the container therefore sees either the whole old payload
// or the whole new one.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// file is one file of a payload: its content and permission bits.
type file struct {
	data []byte
	mode fs.FileMode
}

// payload maps a relative path (a key, or an item's path) to its file.
type payload map[string]file

// writePayload makes dir show exactly p, swapping in a new timestamped
// directory only when the content or modes changed. gid, when not nil,
// becomes the group of the new files (fsGroup). It reports whether it
// swapped.
func writePayload(dir string, p payload, gid *int64) (bool, error) {
	clean, err := validatePayload(p)
	if err != nil {
		return false, err
	}
	if gid != nil {
		// What applyFSGroup will make of the modes, so an unchanged
		// payload compares equal.
		for k, f := range clean {
			f.mode |= fsGroupReadOnlyMask
			clean[k] = f
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create volume dir: %w", err)
	}
	oldTS, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !os.IsNotExist(err) {
		return false, fmt.Errorf("read %s: %w", dataDirName, err)
	}
	if oldTS != "" && samePayload(filepath.Join(dir, oldTS), clean) {
		// Content unchanged; make sure the user-visible links exist.
		return false, linkUserVisible(dir, clean)
	}
	tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, fmt.Errorf("create payload dir: %w", err)
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return false, err
	}
	if err := writeFiles(tsDir, clean, gid); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		os.RemoveAll(tsDir)
		return false, fmt.Errorf("link new payload: %w", err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		os.RemoveAll(tsDir)
		return false, fmt.Errorf("swap payload: %w", err)
	}
	if err := linkUserVisible(dir, clean); err != nil {
		return true, err
	}
	if err := removeStale(dir, clean); err != nil {
		return true, err
	}
	if oldTS != "" && isPayloadDirName(oldTS) {
		if err := os.RemoveAll(filepath.Join(dir, oldTS)); err != nil {
			return true, fmt.Errorf("remove old payload: %w", err)
		}
	}
	return true, nil
}

// validatePayload cleans the paths of p and refuses absolute paths,
// ".." elements and names starting with "..", which the writer owns.
func validatePayload(p payload) (payload, error) {
	out := make(payload, len(p))
	for path, f := range p {
		if path == "" || filepath.IsAbs(path) {
			return nil, fmt.Errorf("invalid path %q: must be a relative path", path)
		}
		for _, el := range strings.Split(path, "/") {
			if el == ".." {
				return nil, fmt.Errorf("invalid path %q: must not contain '..'", path)
			}
		}
		if strings.HasPrefix(path, "..") {
			return nil, fmt.Errorf("invalid path %q: must not start with '..'", path)
		}
		out[filepath.Clean(path)] = f
	}
	return out, nil
}

func isPayloadDirName(name string) bool {
	return strings.HasPrefix(name, "..") && name != dataDirName && name != newDataDirName &&
		!strings.ContainsRune(name, '/')
}

// samePayload reports whether tsDir holds exactly p (content and mode).
func samePayload(tsDir string, p payload) bool {
	n := 0
	ok := true
	err := filepath.WalkDir(tsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !ok {
			ok = false
			return filepath.SkipAll
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tsDir, path)
		want, found := p[rel]
		info, ierr := d.Info()
		if !found || ierr != nil || !d.Type().IsRegular() || info.Mode().Perm() != want.mode.Perm() {
			ok = false
			return filepath.SkipAll
		}
		got, rerr := os.ReadFile(path)
		if rerr != nil || !bytes.Equal(got, want.data) {
			ok = false
			return filepath.SkipAll
		}
		n++
		return nil
	})
	return err == nil && ok && n == len(p)
}

// writeFiles writes p below tsDir.
func writeFiles(tsDir string, p payload, gid *int64) error {
	for rel, f := range p {
		path := filepath.Join(tsDir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create dir for %s: %w", rel, err)
		}
		if err := os.WriteFile(path, f.data, f.mode.Perm()); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		// WriteFile's mode is filtered by the umask.
		if err := os.Chmod(path, f.mode.Perm()); err != nil {
			return err
		}
	}
	if gid != nil {
		return applyFSGroup(tsDir, *gid, true)
	}
	return nil
}

// topLevel lists the first path elements of p, sorted.
func topLevel(p payload) []string {
	seen := map[string]bool{}
	for rel := range p {
		seen[strings.SplitN(rel, "/", 2)[0]] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// linkUserVisible makes name -> ..data/name for every top-level element.
func linkUserVisible(dir string, p payload) error {
	for _, name := range topLevel(p) {
		link := filepath.Join(dir, name)
		target := filepath.Join(dataDirName, name)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		// Anything else at that name (an old file or link) is replaced;
		// RemoveAll does not follow symlinks.
		if err := os.RemoveAll(link); err != nil {
			return fmt.Errorf("replace %s: %w", name, err)
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	return nil
}

// removeStale removes the user-visible links of paths no longer in p. It
// only removes symlinks into ..data, so it never deletes through a link.
func removeStale(dir string, p payload) error {
	want := map[string]bool{}
	for _, name := range topLevel(p) {
		want[name] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if want[name] || strings.HasPrefix(name, "..") || e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil || !strings.HasPrefix(target, dataDirName+"/") {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", name, err)
		}
	}
	return nil
}
