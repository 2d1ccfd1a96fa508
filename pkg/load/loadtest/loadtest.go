// Package loadtest is the conformance suite of a closesync store: named
// cases that every store implementation must pass, in the manner of
// cloudquery's plugin/testing_write.go. A store's own test calls Run with a
// function opening it on an empty database.
//
// The cases declare their own small tables (not the report catalog), so the
// suite depends on pkg/load and pkg/schema only.
package loadtest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// Store is what the suite uses of a store: exactly the methods its cases
// call, with the signatures of *load.Store.
type Store interface {
	EnsureTable(ctx context.Context, t schema.Table, mode schema.WriteMode, org string) error
	BeginRun(ctx context.Context, info load.RunInfo) (int64, error)
	Bookmark(ctx context.Context, account, org, report string) (schema.Bookmark, bool, error)
	Apply(ctx context.Context, run load.Run, t schema.Table, mode schema.WriteMode, b load.Batch, c load.Counters) (int64, error)
	StartReplace(ctx context.Context, t schema.Table, org string) error
	FinishReplace(ctx context.Context, run load.Run, t schema.Table) (int64, error)
	FinishRun(ctx context.Context, id int64, status runlog.Status, c load.Counters, errMsg string) error
	ApplyDeletes(ctx context.Context, run load.Run, eventTable string, tables []schema.Table, deletedIDs *[]string) (int64, error)
	Reconcile(ctx context.Context, run load.Run, t schema.Table, ids []string, listedFrom time.Time, deletedIDs *[]string) (int64, error)
	PurgeDeleted(ctx context.Context, org string, tables []schema.Table) (int64, error)
	StoredRows(ctx context.Context, t schema.Table, org string) (int64, error)
	// Query and Schema read rows back: SQL over the data tables, which
	// live in Schema.
	Query(ctx context.Context, fn func(*sql.Rows) error, query string, args ...any) error
	Schema() string
	Close() error
}

// Opener opens the store of one case. The first call in a test opens an
// empty database; a later call in the same test, made after the case
// closed the previous store, reopens that same database (as the daemon
// does between runs). The opener closes what it opened when the test ends.
type Opener func(t *testing.T) Store

// Run runs every case of the suite as a subtest of t.
func Run(t *testing.T, open Opener) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(&env{t: t, open: open, s: open(t)})
		})
	}
}

// cases are the suite's named cases.
var cases = []struct {
	name string
	run  func(e *env) // its *testing.T is e.t
}{
	{"UpsertTwiceNewerWins", upsertTwice},
	{"DuplicateIDInBatchNewestWins", duplicateInBatch},
	{"OlderVersionNeverOverwrites", olderNeverOverwrites},
	{"AppendKeepsDistinctVersions", appendMode},
	{"ReplaceSwapsShadow", replaceSwaps},
	{"FailedReplaceKeepsOldRows", failedReplace},
	{"ChildRowsReplacedWithParent", childReplacement},
	{"EventLogDeletes", eventLogDeletes},
	{"ReconcileMarksMissingRows", reconcile},
	{"PurgeDeletedRows", purge},
	{"EnsureTableAddsColumn", addColumn},
	{"BookmarkCommitsWithBatch", bookmarkAtomic},
	{"CommittedBatchesSurviveACrash", crash},
	{"OrganizationsNeverTouchEachOther", organizations},
}

// Tables of the suite. items has a child table, a lead column and an
// order column; leads is a plain parent; events is the event log's shape.
var (
	items = schema.Table{
		Name: "items",
		Columns: []schema.Column{
			{Name: "id", Type: schema.Text},
			{Name: "name", Type: schema.Text},
			{Name: "lead_id", Type: schema.Text},
			{Name: "date_updated", Type: schema.Timestamp},
		},
		Key:   []string{"id"},
		Order: "date_updated",
		Children: []schema.Child{{Field: "tags", Table: schema.Table{
			Name: "items_tags",
			Columns: []schema.Column{
				{Name: "item_id", Type: schema.Text, Source: schema.FromParent},
				{Name: schema.ColPosition, Type: schema.Integer, Source: schema.FromPosition},
				{Name: "tag", Type: schema.Text},
			},
			Key: []string{"item_id", schema.ColPosition},
		}}},
	}
	leads = schema.Table{
		Name: "leads",
		Columns: []schema.Column{
			{Name: "id", Type: schema.Text},
			{Name: "name", Type: schema.Text},
			{Name: "date_updated", Type: schema.Timestamp},
		},
		Key:   []string{"id"},
		Order: "date_updated",
	}
	events = schema.Table{
		Name: "events",
		Columns: []schema.Column{
			{Name: "id", Type: schema.Text},
			{Name: "date_created", Type: schema.Timestamp},
			{Name: "date_updated", Type: schema.Timestamp},
			{Name: "object_type", Type: schema.Text},
			{Name: "object_id", Type: schema.Text},
			{Name: "action", Type: schema.Text},
			{Name: "meta", Type: schema.JSON},
		},
		Key:   []string{"id"},
		Order: "date_updated",
	}
)

const account = "acct"

// env is one case's store and helpers; every helper fails the test on an
// error.
type env struct {
	t    *testing.T
	open Opener
	s    Store
}

func (e *env) ctx() context.Context { return e.t.Context() }

// ensure creates t for mode in the organization org.
func (e *env) ensure(t schema.Table, mode schema.WriteMode, org string) {
	e.t.Helper()
	if err := e.s.EnsureTable(e.ctx(), t, mode, org); err != nil {
		e.t.Fatalf("ensure %s (%s): %v", t.Name, mode, err)
	}
}

// begin starts a run of the report in the organization org.
func (e *env) begin(org, report string) load.Run {
	e.t.Helper()
	id, err := e.s.BeginRun(e.ctx(), load.RunInfo{Job: "job", Report: report, Account: account, Trigger: "manual", Org: org})
	if err != nil {
		e.t.Fatalf("begin run: %v", err)
	}
	return load.Run{ID: id, Account: account, Org: org, Report: report}
}

// apply writes one batch and returns the rows written.
func (e *env) apply(run load.Run, t schema.Table, mode schema.WriteMode, b load.Batch) int64 {
	e.t.Helper()
	n, err := e.s.Apply(e.ctx(), run, t, mode, b, load.Counters{})
	if err != nil {
		e.t.Fatalf("apply to %s: %v", t.Name, err)
	}
	return n
}

// upsert writes recs to items in one batch of a new run of org.
func (e *env) upsert(org string, recs ...schema.Record) int64 {
	e.t.Helper()
	e.ensure(items, schema.Upsert, org)
	return e.apply(e.begin(org, "items"), items, schema.Upsert, load.Batch{Records: recs})
}

// replace runs a whole replace of items in org and returns the rows removed.
func (e *env) replace(org string, recs ...schema.Record) int64 {
	e.t.Helper()
	e.ensure(items, schema.Replace, org)
	run := e.begin(org, "items")
	if err := e.s.StartReplace(e.ctx(), items, org); err != nil {
		e.t.Fatalf("start replace: %v", err)
	}
	e.apply(run, items, schema.Replace, load.Batch{Records: recs})
	removed, err := e.s.FinishReplace(e.ctx(), run, items)
	if err != nil {
		e.t.Fatalf("finish replace: %v", err)
	}
	return removed
}

// rows returns the result of a query as "a|b" lines joined by ","; {t}
// in q stands for a qualified table name, given in tables.
func (e *env) rows(q string, tables ...string) string {
	e.t.Helper()
	for _, name := range tables {
		q = strings.Replace(q, "{t}", fmt.Sprintf("%q.%q", e.s.Schema(), name), 1)
	}
	var out []string
	err := e.s.Query(e.ctx(), func(rows *sql.Rows) error {
		_, all, err := load.ScanAll(rows)
		if err != nil {
			return err
		}
		for _, vals := range all {
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = fmt.Sprint(v)
			}
			out = append(out, strings.Join(parts, "|"))
		}
		return rows.Err()
	}, q)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return strings.Join(out, ",")
}

// live is the live (not deleted) rows of items in org: "id|name".
func (e *env) live(org string) string {
	e.t.Helper()
	return e.rows("SELECT id, name FROM {t} WHERE _deleted_at IS NULL AND organization_id = '"+org+"' ORDER BY id", items.Name)
}

// tags is the child rows of items in org: "item_id|tag|deleted".
func (e *env) tags(org string) string {
	e.t.Helper()
	return e.rows("SELECT item_id, tag, _deleted_at IS NOT NULL FROM {t} WHERE organization_id = '"+org+"' ORDER BY item_id, _position", items.Children[0].Table.Name)
}

// bookmark reads the items bookmark of org ("-" when there is none).
func (e *env) bookmark(org string) string {
	e.t.Helper()
	b, ok, err := e.s.Bookmark(e.ctx(), account, org, "items")
	if err != nil {
		e.t.Fatalf("bookmark: %v", err)
	}
	if !ok {
		return "-"
	}
	return b.String()
}

func (e *env) expect(what, got, want string) {
	e.t.Helper()
	if got != want {
		e.t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// at is the bookmark at an RFC 3339 time of the suite.
func at(s string) schema.Bookmark {
	b, err := schema.ParseBookmark(s)
	if err != nil {
		panic(err)
	}
	return b
}

// item is a record of items; tags become child rows.
func item(id, name, updated string, tags ...string) schema.Record {
	return itemOfLead(id, name, "", updated, tags...)
}

func itemOfLead(id, name, lead, updated string, tags ...string) schema.Record {
	ts := make([]string, len(tags))
	for i, tag := range tags {
		ts[i] = fmt.Sprintf(`{"tag":%q}`, tag)
	}
	return schema.Record{Raw: fmt.Appendf(nil, `{"id":%q,"name":%q,"lead_id":%q,"date_updated":%q,"tags":[%s]}`,
		id, name, lead, updated, strings.Join(ts, ","))}
}

func lead(id, name string) schema.Record {
	return schema.Record{Raw: fmt.Appendf(nil, `{"id":%q,"name":%q,"date_updated":"2024-01-01T00:00:00Z"}`, id, name)}
}

// event is an event-log record; meta may be "".
func event(id, created, objectType, objectID, action, meta string) schema.Record {
	if meta == "" {
		meta = "{}"
	}
	return schema.Record{Raw: fmt.Appendf(nil, `{"id":%q,"date_created":%q,"date_updated":%q,"object_type":%q,"object_id":%q,"action":%q,"meta":%s}`,
		id, created, created, objectType, objectID, action, meta)}
}

const (
	jan = "2024-01-01T00:00:00Z"
	feb = "2024-02-01T00:00:00Z"
	mar = "2024-03-01T00:00:00Z"
)

func upsertTwice(e *env) {
	t := e.t
	if n := e.upsert("org", item("i1", "first", jan, "a"), item("i2", "other", jan)); n != 2 {
		t.Errorf("first batch wrote %d rows, want 2", n)
	}
	if n := e.upsert("org", item("i1", "second", feb, "b")); n != 1 {
		t.Errorf("second batch wrote %d rows, want 1", n)
	}
	e.expect("rows", e.live("org"), "i1|second,i2|other")
	e.expect("tags", e.tags("org"), "i1|b|false")
}

func duplicateInBatch(e *env) {
	t := e.t
	// The newest version wins whatever its place in the batch.
	if n := e.upsert("org", item("i1", "new", feb), item("i1", "old", jan), item("i2", "old", jan), item("i2", "new", feb)); n != 2 {
		t.Errorf("wrote %d rows, want 2 (one per id)", n)
	}
	e.expect("rows", e.live("org"), "i1|new,i2|new")
	// Equal order values: the later record wins.
	e.upsert("org", item("i1", "x", mar), item("i1", "y", mar))
	e.expect("rows after a tie", e.live("org"), "i1|y,i2|new")
}

func olderNeverOverwrites(e *env) {
	t := e.t
	e.upsert("org", item("i1", "new", feb, "kept"))
	if n := e.upsert("org", item("i1", "stale", jan, "lost")); n != 0 {
		t.Errorf("an older version wrote %d rows, want 0", n)
	}
	e.expect("rows", e.live("org"), "i1|new")
	e.expect("tags", e.tags("org"), "i1|kept|false")
}

func appendMode(e *env) {
	t := e.t
	e.ensure(items, schema.Append, "org")
	run := e.begin("org", "items")
	for _, b := range [][]schema.Record{
		{item("i1", "v1", jan)},
		{item("i1", "v1", jan)}, // the same version again: stored once
		{item("i1", "v2", feb), item("i2", "v1", jan)},
	} {
		e.apply(run, items, schema.Append, load.Batch{Records: b})
	}
	e.expect("versions", e.rows("SELECT id, name FROM {t} ORDER BY id, date_updated", items.Name), "i1|v1,i1|v2,i2|v1")
	// A table made for append cannot silently take upserts.
	if err := e.s.EnsureTable(e.ctx(), items, schema.Upsert, "org"); err == nil {
		t.Error("EnsureTable accepted mode upsert for an append table")
	}
}

func replaceSwaps(e *env) {
	t := e.t
	e.replace("org", item("i1", "a", jan, "x"), item("i2", "b", jan, "y"))
	e.expect("rows", e.live("org"), "i1|a,i2|b")

	e.ensure(items, schema.Replace, "org")
	run := e.begin("org", "items")
	if err := e.s.StartReplace(e.ctx(), items, "org"); err != nil {
		t.Fatal(err)
	}
	e.apply(run, items, schema.Replace, load.Batch{Records: []schema.Record{item("i2", "b2", feb)}})
	// Until the swap, readers see the previous contents.
	e.expect("rows before the swap", e.live("org"), "i1|a,i2|b")
	removed, err := e.s.FinishReplace(e.ctx(), run, items)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 1 {
		t.Errorf("removed = %d, want 1 (i1)", removed)
	}
	e.expect("rows after the swap", e.live("org"), "i2|b2")
	e.expect("tags after the swap", e.tags("org"), "")
	if n, err := e.s.StoredRows(e.ctx(), items, "org"); err != nil || n != 1 {
		t.Errorf("StoredRows = %d, %v; want 1", n, err)
	}
}

func failedReplace(e *env) {
	t := e.t
	e.replace("org", item("i1", "a", jan, "x"))
	run := e.begin("org", "items")
	if err := e.s.StartReplace(e.ctx(), items, "org"); err != nil {
		t.Fatal(err)
	}
	e.apply(run, items, schema.Replace, load.Batch{Records: []schema.Record{item("i2", "b", feb)}})
	// A batch that fails, and no FinishReplace: the run ends there.
	if _, err := e.s.Apply(e.ctx(), run, items, schema.Replace, load.Batch{Records: []schema.Record{{Raw: []byte(`{"name":"no id"}`)}}}, load.Counters{}); err == nil {
		t.Fatal("a record without a key was accepted")
	}
	if err := e.s.FinishRun(e.ctx(), run.ID, runlog.Failed, load.Counters{}, "failed"); err != nil {
		t.Fatal(err)
	}
	e.expect("rows after a failed replace", e.live("org"), "i1|a")
	e.expect("tags after a failed replace", e.tags("org"), "i1|x|false")
	// The next replace starts over from a fresh shadow.
	if removed := e.replace("org", item("i3", "c", mar)); removed != 1 {
		t.Errorf("removed = %d, want 1", removed)
	}
	e.expect("rows after the next replace", e.live("org"), "i3|c")
}

func childReplacement(e *env) {
	e.upsert("org", item("i1", "a", jan, "x", "y"), item("i2", "b", jan, "z"))
	e.expect("tags", e.tags("org"), "i1|x|false,i1|y|false,i2|z|false")
	e.upsert("org", item("i1", "a", feb, "w"))
	e.expect("tags after i1 again", e.tags("org"), "i1|w|false,i2|z|false")
	e.upsert("org", item("i1", "a", mar))
	e.expect("tags after i1 without tags", e.tags("org"), "i2|z|false")
}

// eventLogDeletes: an item deleted outright (and its child rows), a lead
// deleted (with the items of that lead: the cascade) and a lead merged
// away (marked, but its items moved to the destination, so they stay).
func eventLogDeletes(e *env) {
	t := e.t
	e.upsert("org", item("i1", "gone", jan, "t1"), itemOfLead("i2", "of L1", "L1", jan, "t2"), itemOfLead("i3", "of L2", "L2", jan), item("i4", "kept", jan))
	e.ensure(leads, schema.Upsert, "org")
	e.apply(e.begin("org", "leads"), leads, schema.Upsert, load.Batch{Records: []schema.Record{lead("L1", "deleted"), lead("L2", "merged away"), lead("L3", "merge target")}})
	e.ensure(events, schema.Upsert, "org")
	e.apply(e.begin("org", "events"), events, schema.Upsert, load.Batch{Records: []schema.Record{
		event("ev1", feb, "item", "i1", "deleted", ""),
		event("ev2", feb, "lead", "L1", "deleted", ""),
		event("ev3", mar, "lead", "L3", "merged", `{"merge_source_lead_id":"L2"}`),
		event("ev4", mar, "lead", "L2", "deleted", ""),
		event("ev5", mar, "item", "i4", "updated", ""),
	}})
	run := e.begin("org", "events")
	// The lead rule counts a merged-away lead as deleted; items are
	// deleted with a lead deleted outright.
	leadRule := &schema.DeleteRule{ObjectType: "lead", MergeSource: "merge_source_lead_id"}
	withRules := func(t schema.Table, r *schema.DeleteRule) schema.Table { t.Deletes = r; return t }
	rules := []schema.Table{withRules(leads, leadRule),
		withRules(items, &schema.DeleteRule{ObjectType: "item", Owner: leadRule, OwnerColumn: "lead_id"})}
	var ids []string
	n, err := e.s.ApplyDeletes(e.ctx(), run, events.Name, rules, &ids)
	if err != nil {
		t.Fatal(err)
	}
	// L1, L2, i1, i2 and the tags t1, t2.
	if n != 6 {
		t.Errorf("marked %d rows, want 6", n)
	}
	e.expect("deleted ids", strings.Join(slices.Sorted(slices.Values(ids)), ","), "L1,L2,i1,i2")
	e.expect("live items", e.live("org"), "i3|of L2,i4|kept")
	e.expect("live leads", e.rows("SELECT id FROM {t} WHERE _deleted_at IS NULL ORDER BY id", leads.Name), "L3")
	e.expect("tags", e.tags("org"), "i1|t1|true,i2|t2|true")
	// A row's deletion time is its event's.
	e.expect("deletion time", e.rows("SELECT strftime(_deleted_at, '%Y-%m-%d') FROM {t} WHERE id = 'i1'", items.Name), "2024-02-01")
	// Applying the same events again marks nothing new.
	if n, err := e.s.ApplyDeletes(e.ctx(), run, events.Name, rules, nil); err != nil || n != 0 {
		t.Errorf("second ApplyDeletes = %d, %v; want 0", n, err)
	}
}

func reconcile(e *env) {
	t := e.t
	e.upsert("org", item("i1", "a", jan), item("i2", "b", jan, "t"), item("i3", "c", jan))
	// The listing begins after those rows were synced...
	listedFrom := e.syncedAfter()
	// ... and a row synced while it runs is not in it.
	e.upsert("org", item("i4", "new", feb))
	var ids []string
	n, err := e.s.Reconcile(e.ctx(), e.begin("org", "items"), items, []string{"i1", "i3"}, listedFrom, &ids)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("marked %d rows, want 2 (i2 and its tag)", n)
	}
	e.expect("deleted ids", strings.Join(ids, ","), "i2")
	e.expect("live rows", e.live("org"), "i1|a,i3|c,i4|new")
	e.expect("tags", e.tags("org"), "i2|t|true")
}

// syncedAfter returns a time after the _synced_at of every row of items,
// and before that of any row written from now on.
func (e *env) syncedAfter() time.Time {
	e.t.Helper()
	var at time.Time
	err := e.s.Query(e.ctx(), func(rows *sql.Rows) error {
		if !rows.Next() {
			return fmt.Errorf("no row: %w", rows.Err())
		}
		return rows.Scan(&at)
	}, fmt.Sprintf("SELECT max(_synced_at) FROM %q.%q", e.s.Schema(), items.Name))
	if err != nil {
		e.t.Fatal(err)
	}
	return at.Add(time.Microsecond)
}

func purge(e *env) {
	t := e.t
	e.upsert("org", item("i1", "a", jan, "x"), item("i2", "b", jan, "y"))
	if _, err := e.s.Reconcile(e.ctx(), e.begin("org", "items"), items, []string{"i1"}, e.syncedAfter(), nil); err != nil {
		t.Fatal(err)
	}
	n, err := e.s.PurgeDeleted(e.ctx(), "org", []schema.Table{items, leads}) // leads does not exist: skipped
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("purged %d rows, want 2 (i2 and its tag)", n)
	}
	e.expect("all rows", e.rows("SELECT id FROM {t} ORDER BY id", items.Name), "i1")
	e.expect("tags", e.tags("org"), "i1|x|false")
}

func addColumn(e *env) {
	t := e.t
	e.upsert("org", item("i1", "a", jan))
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	// The next version declares a column more; the table gains it on the
	// next open.
	wider := items
	wider.Columns = append(append([]schema.Column{}, items.Columns...), schema.Column{Name: "score", Type: schema.BigInt})
	e.s = e.open(t)
	e.ensure(wider, schema.Upsert, "org")
	e.apply(e.begin("org", "items"), wider, schema.Upsert, load.Batch{Records: []schema.Record{
		{Raw: []byte(`{"id":"i2","name":"b","date_updated":"2024-01-01T00:00:00Z","score":7}`)},
	}})
	e.expect("rows", e.rows("SELECT id, coalesce(score::VARCHAR, 'null') FROM {t} ORDER BY id", items.Name), "i1|null,i2|7")
}

// bookmarkAtomic: a batch and its bookmark commit together; a batch that
// fails leaves neither its rows nor its bookmark.
func bookmarkAtomic(e *env) {
	t := e.t
	e.expect("bookmark before any batch", e.bookmark("org"), "-")
	e.ensure(items, schema.Upsert, "org")
	run := e.begin("org", "items")
	e.apply(run, items, schema.Upsert, load.Batch{Records: []schema.Record{item("i1", "a", jan)}, Bookmark: at(jan)})
	e.expect("bookmark", e.bookmark("org"), jan)
	_, err := e.s.Apply(e.ctx(), run, items, schema.Upsert, load.Batch{
		Records:  []schema.Record{item("i2", "b", feb), {Raw: []byte(`{"name":"no id"}`)}},
		Bookmark: at(feb),
	}, load.Counters{})
	if err == nil {
		t.Fatal("a batch with a record without its key was accepted")
	}
	e.expect("rows after the failed batch", e.live("org"), "i1|a")
	e.expect("bookmark after the failed batch", e.bookmark("org"), jan)
	if err := e.s.FinishRun(e.ctx(), run.ID, runlog.Failed, load.Counters{}, err.Error()); err != nil {
		t.Fatal(err)
	}
}

// crash: a store closed mid-run (the process died) keeps every committed
// batch with its bookmark, and nothing of a replace not swapped in.
func crash(e *env) {
	t := e.t
	e.ensure(items, schema.Upsert, "org")
	run := e.begin("org", "items")
	e.apply(run, items, schema.Upsert, load.Batch{Records: []schema.Record{item("i1", "a", jan, "x")}, Bookmark: at(jan)})
	e.ensure(leads, schema.Replace, "org")
	if err := e.s.StartReplace(e.ctx(), leads, "org"); err != nil {
		t.Fatal(err)
	}
	e.apply(e.begin("org", "leads"), leads, schema.Replace, load.Batch{Records: []schema.Record{lead("L1", "never swapped")}})
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	e.s = e.open(t)
	e.expect("rows after reopening", e.live("org"), "i1|a")
	e.expect("tags after reopening", e.tags("org"), "i1|x|false")
	e.expect("bookmark after reopening", e.bookmark("org"), jan)
	if n, err := e.s.StoredRows(e.ctx(), leads, "org"); err != nil || n != 0 {
		t.Errorf("leads StoredRows = %d, %v; want 0 (the replace never finished)", n, err)
	}
}

// organizations: two organizations with the same ids in one database;
// every operation of one leaves the other's rows and bookmark alone.
func organizations(e *env) {
	t := e.t
	bookmarks := map[string]string{"orgA": jan, "orgB": feb}
	for _, org := range []string{"orgA", "orgB"} {
		e.ensure(items, schema.Upsert, org)
		e.apply(e.begin(org, "items"), items, schema.Upsert, load.Batch{
			Records:  []schema.Record{item("i1", org+"-1", jan, org), item("i2", org+"-2", jan)},
			Bookmark: at(bookmarks[org]),
		})
	}
	e.expect("A's bookmark", e.bookmark("orgA"), jan)
	e.expect("B's bookmark", e.bookmark("orgB"), feb)
	// A newer version of i1 in A does not touch B's i1 or its tags.
	e.upsert("orgA", item("i1", "orgA-new", feb, "orgA-new"))
	e.expect("B's rows after A's upsert", e.live("orgB"), "i1|orgB-1,i2|orgB-2")
	e.expect("B's tags after A's upsert", e.tags("orgB"), "i1|orgB|false")

	// A's event log deletes i1 in A only.
	e.ensure(events, schema.Upsert, "orgA")
	e.apply(e.begin("orgA", "events"), events, schema.Upsert, load.Batch{Records: []schema.Record{event("ev1", mar, "item", "i1", "deleted", "")}})
	deletable := items
	deletable.Deletes = &schema.DeleteRule{ObjectType: "item"}
	if n, err := e.s.ApplyDeletes(e.ctx(), e.begin("orgB", "events"), events.Name, []schema.Table{deletable}, nil); err != nil || n != 0 {
		t.Errorf("B's ApplyDeletes over A's events = %d, %v; want 0", n, err)
	}
	if n, err := e.s.ApplyDeletes(e.ctx(), e.begin("orgA", "events"), events.Name, []schema.Table{deletable}, nil); err != nil || n != 2 {
		t.Errorf("A's ApplyDeletes = %d, %v; want 2 (i1 and its tag)", n, err)
	}
	e.expect("A's rows", e.live("orgA"), "i2|orgA-2")
	e.expect("B's rows after A's deletes", e.live("orgB"), "i1|orgB-1,i2|orgB-2")

	// A's reconcile with an empty listing and A's purge spare B.
	if _, err := e.s.Reconcile(e.ctx(), e.begin("orgA", "items"), items, nil, e.syncedAfter(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.PurgeDeleted(e.ctx(), "orgA", []schema.Table{items}); err != nil {
		t.Fatal(err)
	}
	e.expect("A's rows after reconcile and purge", e.rows("SELECT count(*) FROM {t} WHERE organization_id = 'orgA'", items.Name), "0")
	e.expect("B's rows after A's reconcile and purge", e.live("orgB"), "i1|orgB-1,i2|orgB-2")
	e.expect("B's tags after A's purge", e.tags("orgB"), "i1|orgB|false")

	// A's replace leaves B alone.
	e.replace("orgA", item("i9", "orgA-9", mar))
	e.expect("A's rows after replace", e.live("orgA"), "i9|orgA-9")
	e.expect("B's rows after A's replace", e.live("orgB"), "i1|orgB-1,i2|orgB-2")
	for org, want := range map[string]int64{"orgA": 1, "orgB": 2} {
		if n, err := e.s.StoredRows(e.ctx(), items, org); err != nil || n != want {
			t.Errorf("StoredRows(%s) = %d, %v; want %d", org, n, err, want)
		}
	}
	e.expect("B's bookmark at the end", e.bookmark("orgB"), feb)
}
