package hooks

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
)

// TestClosedPublishesAfterASuccessAndRetries: Closed publishes once a run
// succeeded, not after failed runs and verifications only; a publish that fails is logged with the
// directory and tried again at the next Closed, whatever that run did.
func TestClosedPublishesAfterASuccessAndRetries(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{Database: filepath.Join(dir, "crm.duckdb"), Schema: "close",
		Publish: config.Publish{Parquet: filepath.Join(dir, "lake"), PartitionAbove: config.DefaultPartitionAbove, Views: true}}
	opts := StoreOptions(cfg)
	s, err := load.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	h, err := New(cfg, zap.New(core), nil)
	if err != nil {
		t.Fatal(err)
	}
	published := func() bool {
		_, err := os.Stat(filepath.Join(cfg.Publish.Parquet, load.ManifestName))
		return err == nil
	}
	h.Observe(pipeline.Result{Run: runlog.Run{Status: runlog.Failed}})
	h.Observe(pipeline.Result{Run: runlog.Run{Status: runlog.Success, Trigger: runlog.Verify}})
	h.Closed()
	if published() {
		t.Fatal("published after a failed run and a verification only")
	}
	// A file where the directory goes: the publish fails.
	if err := os.WriteFile(cfg.Publish.Parquet, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.Observe(pipeline.Result{Run: runlog.Run{Status: runlog.Success}})
	h.Closed()
	failed := logs.FilterMessage("parquet not published; the previous version stays").All()
	if len(failed) != 1 || failed[0].ContextMap()["dir"] != cfg.Publish.Parquet {
		t.Fatalf("a failed publish logged %v", logs.All())
	}
	if err := os.Remove(cfg.Publish.Parquet); err != nil {
		t.Fatal(err)
	}
	h.Observe(pipeline.Result{Run: runlog.Run{Status: runlog.Failed}})
	h.Closed()
	if !published() || logs.FilterMessage("parquet published").Len() != 1 {
		t.Fatalf("the failed publish was not tried again: %v", logs.All())
	}
	h.Closed()
	if n := logs.FilterMessage("parquet published").Len(); n != 1 {
		t.Errorf("published %d times without a run in between", n)
	}
}
