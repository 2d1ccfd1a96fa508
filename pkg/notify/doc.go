// Package notify delivers summaries of closesync's sync runs to an HTTP
// webhook. It never blocks or fails a sync: Notify only queues, a single
// background goroutine delivers in order, and delivery failures are logged
// and counted (Stats), never returned.
//
// # Events
//
// Config.On chooses what is sent (default ["failure"]):
//
//	on        event          when
//	failure   run.failed     status is failed, cancelled, or anything but success
//	success   run.succeeded  status is success
//	changes   run.changes    the run changed ids (any status), in batches of ChangesBatch ids
//	(always)  schema.changed the run recorded custom field changes (NotifySchema)
//
// A cancelled run (shutdown, or stopped by hand) counts as a failure: it
// did not finish its work. Receivers tell it apart by run.status. The
// outcome message of a run is queued before its changes.
//
// # Message
//
// Each message is one POST with Content-Type application/json, User-Agent
// "closesync", the Config.Headers, and an Idempotency-Key header equal to
// the body's "id". The body is (run.failed and run.succeeded have no
// "changes" nor "batch"):
//
//	{
//	  "event": "run.changes",
//	  "id": "closesync-42-run.changes-2-5c3a0f1e9b7d2a61",
//	  "run": {
//	    "run_id": 42, "job": "hourly", "report": "leads", "account": "main",
//	    "trigger": "schedule", "status": "success",
//	    "started_at": "2026-08-01T12:00:00Z", "finished_at": "2026-08-01T12:01:30Z",
//	    "rows_extracted": 2500, "rows_upserted": 2500, "rows_deleted": 0,
//	    "requests": 27, "retries": 1, "error": ""
//	  },
//	  "changes": {"created": ["lead_a"], "updated": ["lead_b"], "deleted": []},
//	  "batch": {"index": 2, "count": 3}
//	}
//
// Every key shown is always present. Times are RFC 3339 in UTC, or null
// when unknown; "error" is "" when there is none. The created, updated
// and deleted lists are never null. A run's ids are cut into batches in
// order (created, then updated, then deleted), so batch 1 of 3 may hold
// only created ids; batch index counts from 1. New keys may be added;
// existing ones keep their meaning.
//
// The id (and Idempotency-Key) is the same on every attempt of a message
// and differs between runs, events and batches: receivers dedupe retries
// by it. Treat it as opaque.
//
// # Delivery
//
// A 2xx answer delivers a message. 408, 429, 5xx, timeouts and transport
// errors are retried up to Config.Attempts times, after Config.Delay
// doubled per attempt with jitter (uniform in [d/2, d]), or after the
// Retry-After the receiver sent; every wait is capped at one minute. Any
// other answer (other 4xx, or a 3xx, since the default client does not
// follow redirects) fails at once. A failed message is logged once at
// Warn with its status and the URL's host: never the full URL, whose query
// may hold a token, nor header values.
//
// The queue holds Config.QueueSize messages; when it is full the oldest is
// dropped and counted. Close stops accepting messages, delivers the queue
// until its context is done, then abandons the rest (ending the request in
// flight and any backoff sleep) and reports how many were dropped.
package notify
