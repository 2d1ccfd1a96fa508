package load

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// applied records the batches a BatchWriter commits.
type applied struct {
	sizes []int
	marks []string
	err   error
}

func (a *applied) Apply(_ context.Context, _ Run, _ schema.Table, _ schema.WriteMode, b Batch, _ Counters) (int64, error) {
	if a.err != nil {
		return 0, a.err
	}
	a.sizes = append(a.sizes, len(b.Records))
	a.marks = append(a.marks, b.Bookmark.String())
	return int64(len(b.Records)), nil
}

var _ Applier = (*Store)(nil)

func recs(n int) []schema.Record { return make([]schema.Record, n) }

func mark(s string) schema.Bookmark {
	b, err := schema.ParseBookmark(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestBatchWriterFlushesBySizeAndAge: a batch is committed when it holds
// the configured rows, or at the first Write after it grew the configured
// age; Flush commits the rest with the last bookmark.
func TestBatchWriterFlushesBySizeAndAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &applied{}
		var flushed []BatchTotals
		w := NewBatchWriter(a, Run{}, schema.Table{}, schema.Upsert, WithBatchRows(250),
			WithFlushed(func(bt BatchTotals) { flushed = append(flushed, bt) }))
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			if err := w.Write(ctx, recs(100), schema.Bookmark{}); err != nil {
				t.Fatal(err)
			}
		}
		// 300 rows: one batch; 200 pending.
		time.Sleep(DefaultBatchAge)
		if err := w.Write(ctx, recs(10), mark("2026-01-01T00:00:00Z")); err != nil { // old enough: committed
			t.Fatal(err)
		}
		if err := w.Write(ctx, nil, mark("2026-01-02T00:00:00Z")); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil { // nothing pending: no batch
			t.Fatal(err)
		}
		if !slices.Equal(a.sizes, []int{300, 210, 0}) || !slices.Equal(a.marks, []string{"", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}) {
			t.Errorf("batches %v, marks %q", a.sizes, a.marks)
		}
		want := BatchTotals{Batches: 3, Records: 510, Rows: 510, Bookmark: mark("2026-01-02T00:00:00Z")}
		if w.Totals() != want || len(flushed) != 3 || flushed[2] != want {
			t.Errorf("totals %+v, flushed %+v", w.Totals(), flushed)
		}
	})
}

// TestBatchWriterDefaultsAndFailedBatch: the defaults are the named ones,
// and a batch that fails stays pending for the next Flush.
func TestBatchWriterDefaultsAndFailedBatch(t *testing.T) {
	a := &applied{err: errors.New("disk full")}
	w := NewBatchWriter(a, Run{}, schema.Table{}, schema.Upsert, WithBatchRows(0), WithBatchAge(0))
	if w.rows != DefaultBatchRows || w.age != DefaultBatchAge {
		t.Errorf("rows %d, age %s", w.rows, w.age)
	}
	ctx := context.Background()
	if err := w.Write(ctx, recs(DefaultBatchRows), mark("2026-01-03T00:00:00Z")); err == nil {
		t.Fatal("a failed batch reported no error")
	}
	a.err = nil
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.sizes, []int{DefaultBatchRows}) || w.Totals().Bookmark.String() != "2026-01-03T00:00:00Z" {
		t.Errorf("batches %v, totals %+v", a.sizes, w.Totals())
	}
}

// TestBatchWriterFlushesByBytes: a batch is also committed once its
// records' JSON reaches the byte bound, whatever its row count, so the
// memory DuckDB needs to type it is bounded for large records too.
func TestBatchWriterFlushesByBytes(t *testing.T) {
	a := &applied{}
	w := NewBatchWriter(a, Run{}, schema.Table{}, schema.Upsert, WithBatchBytes(1000))
	page := make([]schema.Record, 3)
	for i := range page {
		page[i].Raw = make([]byte, 150) // 450 bytes a page
	}
	ctx := context.Background()
	for range 5 {
		if err := w.Write(ctx, page, schema.Bookmark{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// 450, 900, 1350: flushed (9 records); 450, 900: the rest by Flush.
	if want := []int{9, 6}; !slices.Equal(a.sizes, want) {
		t.Errorf("batches %v, want %v", a.sizes, want)
	}
	if d := NewBatchWriter(a, Run{}, schema.Table{}, schema.Upsert); d.bytes != DefaultBatchBytes {
		t.Errorf("default byte bound %d, want %d", d.bytes, DefaultBatchBytes)
	}
}

// TestOOMHint: DuckDB's out-of-memory error gets advice naming the limit
// and the config key; other errors are left alone.
func TestOOMHint(t *testing.T) {
	s := &Store{memoryLimit: "256MB"}
	if got := s.oomHint(errors.New("flatten leads_contacts: Out of Memory Error: failed to allocate data of size 2.0 MiB")); !strings.Contains(got, "memory_limit is 256MB: raise duckdb.memory_limit") {
		t.Errorf("hint %q", got)
	}
	if got := s.oomHint(errors.New("Constraint Error")); got != "" {
		t.Errorf("hint for another error: %q", got)
	}
}
