// Package closefake is a faithful, deterministic fake of the Close REST
// API v1 as an http.Handler, for end-to-end tests (over httptest on
// loopback) and `closesync demo`. It follows close-api.md, quirks
// included, rather than what would be convenient for a client.
//
// # Data
//
// New generates an organisation from Options.Seed, Scale (leads) and Now:
// users, lead and opportunity statuses in two pipelines, custom fields of
// every type (set on only some objects, sent as flat custom.cf_* keys),
// leads with 1-3 contacts, 0-2 opportunities, 0-2 tasks of several _types
// and a Created activity plus a few others of every activity type, the
// configuration collections of dimensions.go, the event log of the last
// 30 days (with Options.PastEdits, also edits of that many activities
// created before it, one to three each, as a first sync meets them), and
// 1-3 custom object instances on about a third of the leads
// (with the custom fields of their type; made last, from a generator of
// their own, so they left everything else as it was). Ids are prefix_ plus 22 base62 characters; timestamps are
// Close's "2024-03-01T10:11:12.345000+00:00" (milliseconds in a
// microsecond field; no fraction when it is zero, as Python prints them),
// dates are "2024-03-01" where Close sends dates; newer services' objects
// use naive timestamps. Some leads share one date_updated (a bulk edit)
// and some one fractionless date_created (an import), to exercise ties.
//
// # Behaviour
//
//   - Authentication: HTTP Basic with the key as username and an empty
//     password, and nothing else (a Bearer header or a key in the query
//     is a 401 like a wrong key), with Werkzeug's text.
//   - A request target (path and query) past Options.MaxURLLength (2000,
//     the length Close's docs advise staying under) is nginx's 414 page.
//   - Paths need their trailing slash: without it a known path redirects
//     (301, or 308 for non-GET) and an unknown one is a 404.
//   - Offset lists answer {"data", "has_more"}, enforce each endpoint's
//     maximum _limit and the resource's max_skip with the real 400 texts
//     (by default a small cap per resource, 150 to 250, so that every deep
//     walk meets one; Options.MaxSkip overrides),
//     and accept only the filters and _order_by fields Close documents for
//     them; unknown parameters are ignored, as Close's framework does
//     (Options.StrictFilters makes them a 400 instead). _fields works on
//     every endpoint.
//   - GET /lead/ has no date filters, only the deprecated query parameter
//     (date comparisons at minute precision and sort:); unsorted, leads
//     come most recently updated first, an order that shifts while they
//     change (closeio-api #96).
//   - GET /task/ returns only _type=lead tasks unless _type says otherwise.
//   - GET /activity/ and /activity/<type>/ filter on date_created and
//     activity_at only: a date_updated filter is ignored (StrictFilters:
//     400), as Close ignores parameters it does not know; id__in lists
//     the activities named (within the path's type). Single
//     activities are at /activity/<type>/{id}/ (and /activity/{id}/).
//   - GET /event/ is cursor-only (_skip is a 400), at most 50 a page,
//     newest first by date_updated, 30 days of history.
//   - GET /custom_object/ needs lead_id (400 field error without it), as
//     in Close; across leads custom objects are reachable only by search.
//   - POST /data/search/ runs Advanced Filtering queries on leads,
//     contacts, opportunities and custom objects with 30-second cursors
//     and a 10,000 object cap per walk; a _fields list longer than
//     Options.MaxSearchFields (50) is a 400 with Close's validation body.
//   - Options.NonPage makes chosen paths answer 200 with any body (an
//     error object, nothing, an HTML page), as a gateway or a
//     maintenance page does.
//   - Each endpoint group (method and first path segment) has a token
//     bucket of Options.RateLimit requests per second; every response
//     carries a RateLimit header and an empty bucket answers 429 with
//     Retry-After and the JSON body Close used to send.
//
// # Store
//
// Objects are map[string]any in per-kind collections keyed by id, never
// modified in place (a mutation stores a new map), so responses are
// encoded outside the lock. A kind is registered once (kinds.go,
// dimensions.go) with its id prefix, 404 model name, event object_type
// and truth-only keys; an endpoint is one entry in routes.go, most of
// them a listSpec naming the filters, date filters, orderings and page
// cap. Leads embed their contacts, opportunities and tasks at read time
// from a per-lead index; deleting a lead deletes those, its activities and
// its custom objects, and a merge moves them.
//
// Tests read the truth (Objects, Object, Count, IDs) and change it
// (Update, Create, Delete, MergeLeads) to exercise incremental sync; each
// change stamps date_updated with Options.Now and logs events as Close
// does. FailNext and Options.FailureRate inject errors; a 502, 503 or 504
// is nginx's HTML page, as Close's gateway answers, never the API's JSON.
package closefake
