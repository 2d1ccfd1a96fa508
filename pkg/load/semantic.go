package load

import (
	"context"
	"slices"
	"strings"
)

// semanticView is a view of the data schema that answers a sales-ops
// question from the synced tables: made once all the tables it reads
// exist, live rows only. {s} in its SQL is the data schema.
type semanticView struct {
	name    string
	needs   []string
	doc     string
	sql     string
	columns map[string]string
}

// semanticViews are closesync's starter views; README "Querying" shows
// their SQL and says why these three.
var semanticViews = []semanticView{
	{
		name:  "pipeline_daily",
		needs: []string{"opportunities", "activities"},
		doc: "Open pipeline at the end of each UTC day since the first opportunity was created: count and value of the opportunities " +
			"in an active status, by organization, pipeline, status, owner and currency. An opportunity's status on a day comes from " +
			"its OpportunityStatusChange activities (before the first change: that change's old status; without changes: its current " +
			"status), its value from the change that set the status (else its current value); pipeline and owner are the current ones. " +
			"Live rows only.",
		sql: `CREATE OR REPLACE VIEW {s}.pipeline_daily AS
WITH changes AS (
    SELECT organization_id, _raw->>'opportunity_id' AS opportunity_id, coalesce(activity_at, date_created) AS at,
        _raw->>'old_status_id' AS old_status_id, _raw->>'old_status_label' AS old_status_label, _raw->>'old_status_type' AS old_status_type,
        _raw->>'new_status_id' AS new_status_id, _raw->>'new_status_label' AS new_status_label, _raw->>'new_status_type' AS new_status_type,
        TRY_CAST(_raw->>'opportunity_value' AS BIGINT) AS value,
        row_number() OVER (PARTITION BY organization_id, _raw->>'opportunity_id' ORDER BY coalesce(activity_at, date_created), id) AS n
    FROM {s}.activities
    WHERE _type = 'OpportunityStatusChange' AND _deleted_at IS NULL
),
spans AS (
    -- after each change: its new status until the next change
    SELECT c.organization_id, c.opportunity_id, c.at AS span_from,
        lead(c.at) OVER (PARTITION BY c.organization_id, c.opportunity_id ORDER BY c.n) AS span_to,
        c.new_status_id AS status_id, c.new_status_label AS status_label, c.new_status_type AS status_type, c.value
    FROM changes c
    UNION ALL
    -- before the first change: its old status since the opportunity was created
    SELECT c.organization_id, c.opportunity_id, NULL, c.at, c.old_status_id, c.old_status_label, c.old_status_type, c.value
    FROM changes c WHERE c.n = 1
),
history AS (
    SELECT o.organization_id, o.id AS opportunity_id, coalesce(s.span_from, o.date_created) AS span_from, s.span_to,
        coalesce(s.status_id, o.status_id) AS status_id, coalesce(s.status_label, o.status_label) AS status_label,
        coalesce(s.status_type, o.status_type) AS status_type, coalesce(s.value, o.value) AS value,
        o.pipeline_id, o.pipeline_name, o.user_id, o.user_name, o.value_currency
    FROM {s}.opportunities o
    LEFT JOIN spans s ON s.organization_id = o.organization_id AND s.opportunity_id = o.id
    WHERE o._deleted_at IS NULL AND o.date_created IS NOT NULL
),
days AS (
    SELECT unnest(generate_series(min(date_created)::DATE, current_date, INTERVAL 1 DAY))::DATE AS day
    FROM {s}.opportunities WHERE _deleted_at IS NULL
)
SELECT d.day, h.organization_id, h.pipeline_id, h.pipeline_name, h.status_id, h.status_label, h.user_id, h.user_name,
    h.value_currency, count(*) AS opportunities, sum(h.value) AS value
FROM days d
JOIN history h ON h.span_from < d.day + INTERVAL 1 DAY AND (h.span_to IS NULL OR h.span_to >= d.day + INTERVAL 1 DAY)
WHERE h.status_type = 'active'
GROUP BY ALL`,
		columns: map[string]string{
			"day": "The UTC day; the state is the one at its end.", "organization_id": "Close organization (orga_...).",
			"pipeline_id": "Pipeline (current) of the opportunities (pipe_...).", "pipeline_name": "Name of the pipeline.",
			"status_id": "The active status the opportunities were in at the end of the day (stat_...).", "status_label": "Label of that status.",
			"user_id": "Owner (current) of the opportunities (user_...).", "user_name": "Name of the owner.",
			"value_currency": "ISO currency of value.", "opportunities": "Number of open opportunities.",
			"value": "Their summed value in cents of value_currency (divide by 100 for the amount).",
		},
	},
	{
		name:  "activity_daily",
		needs: []string{"activities"},
		doc: "Activities per UTC day, user and activity type (Call, Email, Note, Meeting ...), with calls' and meetings' time: " +
			"the team's daily work. Live rows only.",
		sql: `CREATE OR REPLACE VIEW {s}.activity_daily AS
SELECT coalesce(activity_at, date_created)::DATE AS day, organization_id, user_id, user_name, _type AS activity_type,
    count(*) AS activities,
    count(*) FILTER (WHERE _raw->>'direction' IN ('outbound', 'outgoing')) AS outbound,
    count(*) FILTER (WHERE _raw->>'direction' IN ('inbound', 'incoming')) AS inbound,
    coalesce(sum(TRY_CAST(_raw->>'duration' AS BIGINT)), 0) AS duration_seconds
FROM {s}.activities
WHERE _deleted_at IS NULL
GROUP BY ALL`,
		columns: map[string]string{
			"day": "The UTC day the activities happened (activity_at, else date_created).", "organization_id": "Close organization (orga_...).",
			"user_id": "The user (user_...).", "user_name": "Name of the user.",
			"activity_type": "Activity type (_type): Call, Email, Note, Meeting, SMS, LeadStatusChange ...",
			"activities":    "Number of activities.", "outbound": "Outbound calls and SMS, outgoing emails.",
			"inbound": "Inbound calls and SMS, incoming emails.", "duration_seconds": "Summed duration of calls and meetings, in seconds.",
		},
	},
	{
		name:  "opportunities_closed_monthly",
		needs: []string{"opportunities"},
		doc: "Won and lost opportunities per month (of date_won, date_lost), pipeline, owner and currency: count, value, " +
			"average days from creation to close. Live rows only.",
		sql: `CREATE OR REPLACE VIEW {s}.opportunities_closed_monthly AS
SELECT date_trunc('month', coalesce(date_won, date_lost))::DATE AS month, organization_id, status_type AS outcome,
    pipeline_id, pipeline_name, user_id, user_name, value_currency,
    count(*) AS opportunities, sum(value) AS value,
    round(avg(coalesce(date_won, date_lost) - date_created::DATE), 1) AS avg_days_to_close
FROM {s}.opportunities
WHERE _deleted_at IS NULL AND status_type IN ('won', 'lost') AND coalesce(date_won, date_lost) IS NOT NULL
GROUP BY ALL`,
		columns: map[string]string{
			"month": "First day of the month the opportunities were won or lost.", "organization_id": "Close organization (orga_...).",
			"outcome": "won or lost (status_type).", "pipeline_id": "Pipeline (pipe_...).", "pipeline_name": "Name of the pipeline.",
			"user_id": "Owner of the opportunities (user_...).", "user_name": "Name of the owner.", "value_currency": "ISO currency of value.",
			"opportunities": "Number of opportunities.", "value": "Their summed value in cents of value_currency.",
			"avg_days_to_close": "Average days from creation to the won or lost date.",
		},
	},
}

// SemanticSQL returns the SQL of the starter view name in data schema s
// (README shows it; a test keeps README's copy true).
func SemanticSQL(name, s string) (string, bool) {
	for _, v := range semanticViews {
		if v.name == name {
			return strings.ReplaceAll(v.sql, "{s}", s), true
		}
	}
	return "", false
}

// ensureSemantic creates or replaces, when table is one a starter view
// reads, each starter view whose tables all exist (with organization_id),
// and comments it. A table of the view's name (not closesync's) is left
// alone with a warning.
func (s *Store) ensureSemantic(ctx context.Context, table string) error {
	reads := false
	for _, v := range semanticViews {
		reads = reads || slices.Contains(v.needs, table)
	}
	if !reads {
		return nil
	}
	tables, err := s.tableNames(ctx)
	if err != nil {
		return err
	}
	withOrg, err := s.orgTables(ctx)
	if err != nil {
		return err
	}
next:
	for _, v := range semanticViews {
		for _, n := range v.needs {
			if !tables[n] || !withOrg[n] {
				continue next
			}
		}
		if tables[v.name] {
			s.log.Sugar().Warnw("starter view not created: a table has its name", "view", s.schema+"."+v.name)
			continue
		}
		q, _ := SemanticSQL(v.name, quoteIdent(s.schema))
		if _, err := s.ensureView(ctx, viewDef{schema: s.schema, name: v.name, sql: q, doc: v.doc, columns: v.columns}); err != nil {
			return err
		}
	}
	return nil
}
