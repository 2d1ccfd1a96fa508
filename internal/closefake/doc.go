// Package closefake is a fake Close REST API v1 as an http.Handler, for tests
// and `closesync demo`. It serves deterministic synthetic data made from a
// seed and a scale and behaves like the real API where connectors trip:
// HTTP Basic auth with the real 401 body, {"data","has_more"} envelopes,
// per-endpoint maximum _limit and a max_skip cap with the real 400 message,
// only the date filters each endpoint really accepts, /task/ returning only
// lead tasks unless _type says otherwise, a newest-first cursor-only event
// log with 30 days of history, leads embedding their contacts,
// opportunities and tasks with flat custom.cf_* keys only when set, and a
// per-endpoint-group rate limiter sending RateLimit headers and 429s.
//
// Tests mutate the data (Update, Create, Delete, MergeLeads) to exercise
// incremental sync, and read the truth back (Objects, Count, IDs).
package closefake
