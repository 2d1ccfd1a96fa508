package notify

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/closesync/closesync/pkg/runlog"
)

// Event names, the "event" field of a Message.
const (
	EventFailed    = "run.failed"
	EventSucceeded = "run.succeeded"
	EventChanges   = "run.changes"
	// EventSchemaChanged is sent whenever notify is configured (Config.On
	// does not gate it): a run recorded custom field changes in
	// sync.schema_changes.
	EventSchemaChanged = "schema.changed"
)

// SchemaChange is one row of sync.schema_changes as sent.
type SchemaChange struct {
	Change     string   `json:"change"` // field_added, field_renamed, field_retyped or field_deleted
	FieldID    string   `json:"field_id"`
	Name       string   `json:"name"`
	ObjectType string   `json:"object_type"`
	Views      []string `json:"views"`
	Previous   string   `json:"previous"` // renamed: the old name; retyped: the old type; else ""
	Current    string   `json:"current"`
}

// Changes are the ids a run created, updated and deleted.
type Changes struct {
	Created []string `json:"created"`
	Updated []string `json:"updated"`
	Deleted []string `json:"deleted"`
}

// Len is the number of ids in c.
func (c Changes) Len() int { return len(c.Created) + len(c.Updated) + len(c.Deleted) }

// Message is the JSON body of one POST; see the package documentation.
type Message struct {
	Event   string   `json:"event"`
	ID      string   `json:"id"` // also sent as the Idempotency-Key header
	Run     Run      `json:"run"`
	Changes *Changes `json:"changes,omitempty"` // run.changes only
	Batch   *Batch   `json:"batch,omitempty"`   // run.changes only
	// SchemaChanges are the changes a schema.changed message tells.
	SchemaChanges []SchemaChange `json:"schema_changes,omitempty"`
}

// Run is a runlog.Run as sent (built by wireRun): times are RFC 3339 in
// UTC, null when unknown; the error is "" when there is none.
type Run struct {
	RunID         int64   `json:"run_id"`
	Job           string  `json:"job"`
	Report        string  `json:"report"`
	Account       string  `json:"account"`
	Trigger       string  `json:"trigger"`
	Status        string  `json:"status"`
	StartedAt     *string `json:"started_at"`
	FinishedAt    *string `json:"finished_at"`
	RowsExtracted int64   `json:"rows_extracted"`
	RowsUpserted  int64   `json:"rows_upserted"`
	RowsDeleted   int64   `json:"rows_deleted"`
	Requests      int64   `json:"requests"`
	Retries       int64   `json:"retries"`
	Error         string  `json:"error"`
}

// Batch places a run.changes message among those of its run; Index counts
// from 1.
type Batch struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// isFailure reports whether a run with this status fires "failure": every
// status but success, so that a cancelled run (shutdown, or a stop by hand)
// and an unexpected status are reported rather than missed.
func isFailure(status runlog.Status) bool {
	return status != runlog.Success
}

// messages lists what cfg.On asks to send about one run, in order: the
// outcome (run.failed or run.succeeded), then the run.changes batches. A
// run's changes are sent whatever its status, since a failed run keeps the
// batches it committed.
func messages(on []string, batchSize int, s runlog.Run, ch Changes) []Message {
	want := func(o string) bool {
		for _, v := range on {
			if v == o {
				return true
			}
		}
		return false
	}
	run := wireRun(s)
	var out []Message
	switch {
	case isFailure(s.Status) && want(OnFailure):
		out = append(out, Message{Event: EventFailed, ID: idempotencyKey(s, EventFailed, 0), Run: run})
	case !isFailure(s.Status) && want(OnSuccess):
		out = append(out, Message{Event: EventSucceeded, ID: idempotencyKey(s, EventSucceeded, 0), Run: run})
	}
	if want(OnChanges) && ch.Len() > 0 {
		batches := splitChanges(ch, batchSize)
		for i, b := range batches {
			idx := i + 1
			out = append(out, Message{Event: EventChanges, ID: idempotencyKey(s, EventChanges, idx), Run: run,
				Changes: &b, Batch: &Batch{Index: idx, Count: len(batches)}})
		}
	}
	return out
}

// splitChanges cuts ch into batches of at most size ids, keeping their
// order: created, then updated, then deleted. Every list of every batch is
// non-nil, so that it is sent as [] rather than null.
func splitChanges(ch Changes, size int) []Changes {
	var out []Changes
	cur := Changes{Created: []string{}, Updated: []string{}, Deleted: []string{}}
	room := size
	take := func(ids []string, dst func(*Changes) *[]string) {
		for len(ids) > 0 {
			n := min(room, len(ids))
			p := dst(&cur)
			*p = append(*p, ids[:n]...)
			ids, room = ids[n:], room-n
			if room == 0 {
				out = append(out, cur)
				cur = Changes{Created: []string{}, Updated: []string{}, Deleted: []string{}}
				room = size
			}
		}
	}
	take(ch.Created, func(c *Changes) *[]string { return &c.Created })
	take(ch.Updated, func(c *Changes) *[]string { return &c.Updated })
	take(ch.Deleted, func(c *Changes) *[]string { return &c.Deleted })
	if room < size {
		out = append(out, cur)
	}
	return out
}

// wireRun is r as a message carries it.
func wireRun(r runlog.Run) Run {
	var finished time.Time
	if r.FinishedAt != nil {
		finished = *r.FinishedAt
	}
	return Run{RunID: r.ID, Job: r.Job, Report: r.Report, Account: r.Account, Trigger: string(r.Trigger), Status: string(r.Status),
		StartedAt: timeString(r.StartedAt), FinishedAt: timeString(finished),
		RowsExtracted: r.RowsExtracted, RowsUpserted: r.RowsUpserted, RowsDeleted: r.RowsDeleted,
		Requests: r.Requests, Retries: r.Retries, Error: r.ErrorText()}
}

func timeString(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// idempotencyKey names one message for good: the same on every attempt,
// different for each run, event and batch. The run id alone is not enough,
// as two databases (or a run that could not be recorded, id 0) may share
// it, so a hash of the run's account, job, report and start time follows.
func idempotencyKey(s runlog.Run, event string, batch int) string {
	h := fnv.New64a()
	for _, v := range []string{s.Account, s.Job, s.Report} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "%d", s.StartedAt.UnixNano())
	return fmt.Sprintf("closesync-%d-%s-%d-%016x", s.ID, event, batch, h.Sum64())
}

// encode is json.Marshal of a Message. It does not fail in practice (every
// field is a string, a number, or a struct or slice of them); the error is
// still handled, by dropping the message, rather than risking a panic.
func encode(m Message) ([]byte, error) {
	return json.Marshal(m)
}
