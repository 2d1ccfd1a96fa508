package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/buildinfo"
)

// TestBuiltBinaryVersion builds closesync with go build, as a user does, and
// runs `version`, `--version` and `version --json`: the commit is the
// checkout's HEAD, modified when the tree has changes git status shows,
// and the module version the go command derived from it. A checkout whose
// .git is a directory is built in place; a git worktree (a .git file, which
// the go command does not recognise) is cloned first, with an uncommitted
// change, so that only committed code is built there. Skipped with -short
// or without git.
func TestBuiltBinaryVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(gitPath, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	top, err := exec.Command(gitPath, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not a git checkout")
	}
	src := strings.TrimSpace(string(top))
	if fi, err := os.Stat(filepath.Join(src, ".git")); err != nil || !fi.IsDir() {
		clone := filepath.Join(t.TempDir(), "src")
		git(src, "clone", "-q", "--shared", src, clone)
		if err := os.WriteFile(filepath.Join(clone, "README.md"), []byte("changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		src = clone
	}
	head := git(src, "rev-parse", "HEAD")
	modified := git(src, "status", "--porcelain") != ""

	bin := filepath.Join(t.TempDir(), "closesync")
	build := exec.Command("go", "build", "-o", bin, "./cmd/closesync")
	build.Dir = src
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true") // the environment may turn VCS stamping off
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	wantCommit := "  commit     " + head
	if modified {
		wantCommit += " (with uncommitted changes)"
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		lines := strings.Split(string(out), "\n")
		if err != nil || len(lines) < 5 || lines[1] != wantCommit || !strings.HasPrefix(lines[2], "  committed  20") ||
			!strings.HasPrefix(lines[0], "closesync v") || !strings.Contains(lines[0], head[:12]) ||
			strings.HasSuffix(lines[0], "+dirty") != modified || !strings.HasPrefix(lines[4], "  duckdb     v1.") {
			t.Errorf("closesync %s: %v\n%s\nwant the commit line %q", args[0], err, out, wantCommit)
		}
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	var bi buildinfo.Info
	if err == nil {
		err = json.Unmarshal(out, &bi)
	}
	if err != nil || bi.Revision != head || bi.Modified != modified || bi.CommitTime == "" {
		t.Errorf("version --json: %v\n%s", err, out)
	}
}
