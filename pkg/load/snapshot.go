package load

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// PublishSnapshot copies the database file at src to dst atomically: into a
// temporary file beside dst, synced, then renamed over it, so a reader of
// dst sees the old copy or the new one, never a partial file. src must be
// closed (Store.Close checkpoints it, leaving no write-ahead log), which
// makes the copy a consistent database on its own.
func PublishSnapshot(src, dst string) (err error) {
	if wal := src + ".wal"; fileExists(wal) {
		return fmt.Errorf("snapshot of %s: it has a write-ahead log (%s): the database is open or was not closed cleanly", src, wal)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	// Only read from: closing it cannot lose anything (io.Copy's error is
	// the one that says whether the copy is whole).
	defer func() { _ = in.Close() }()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	closed := false // tmp, once its Close below has run
	defer func() {
		if err != nil {
			if !closed {
				err = errors.Join(err, tmp.Close())
			}
			err = errors.Join(err, os.Remove(tmp.Name()))
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		return fmt.Errorf("snapshot: copy %s to %s: %w", src, tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	closed = true // an os.File is closed even when Close fails
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("snapshot: publish %s: %w", dst, err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}
