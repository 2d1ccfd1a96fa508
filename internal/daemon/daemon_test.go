package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/schedule"
)

// notifications collects what the daemon sends to $NOTIFY_SOCKET.
type notifications struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notifications) has(msg string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.msgs {
		if strings.Contains(m, msg) {
			return true
		}
	}
	return false
}

func (n *notifications) count(msg string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, m := range n.msgs {
		if strings.Contains(m, msg) {
			c++
		}
	}
	return c
}

func listen(t *testing.T) *notifications {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	n := &notifications{}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRun: the daemon says READY, pings the watchdog at half of
// WatchdogSec=, keeps its config when a reload fails and takes a good one,
// stops cleanly when its context ends, and exits at a second signal.
func TestRun(t *testing.T) {
	n := listen(t)
	t.Setenv("WATCHDOG_USEC", "100000") // 100ms: a ping every 50ms
	t.Setenv("WATCHDOG_PID", "")
	cfg := &config.Config{Database: filepath.Join(t.TempDir(), "x.duckdb"), Schema: "close"}
	hup := make(chan os.Signal, 1)
	var loads atomic.Int32
	exited := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Path: "closesync.yaml", Config: cfg, Log: zap.NewNop(), Hangup: hup,
			Load: func(string) (*config.Config, error) {
				if loads.Add(1) == 1 {
					return nil, errors.New("bad config")
				}
				return cfg, nil
			},
			Open: func(context.Context) (schedule.Store, func() error, error) {
				return nil, nil, errors.New("no store in this test")
			},
			Exit: func() { close(exited) },
		})
	}()
	eventually(t, "READY=1", func() bool { return n.has("READY=1") })
	eventually(t, "two watchdog pings", func() bool { return n.count("WATCHDOG=1") >= 2 })
	for range 2 {
		hup <- syscall.SIGHUP
	}
	eventually(t, "two reloads", func() bool { return n.count("RELOADING=1") == 2 && n.count("READY=1") == 3 })
	if l := loads.Load(); l != 2 {
		t.Errorf("%d loads, want 2", l)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	eventually(t, "STOPPING=1 and its status", func() bool {
		return n.has("STOPPING=1") && n.has("STATUS=stopping: cancelling runs at the next batch boundary")
	})
	// A second signal exits at once (the signal is caught, not delivered).
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("a second signal did not exit")
	}
}
